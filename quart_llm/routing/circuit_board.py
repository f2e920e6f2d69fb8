"""The breakers of one app, and which of them an outcome counts against.

Failed answers (5xx, broken or cut answers, silences, mid-stream failures) count against the
provider and model that gave them, so one flaky model leaves the provider's other models
alone. A provider that cannot be reached at all (refused, unresolvable, connect timeout)
counts against the provider. A 429 counts against nothing: it is back-pressure with a
`Retry-After`, which the retries honour. A request the upstream refused as invalid is an
answer, so it counts as a success.

Model breakers exist only while they have something to remember (a failure counted, open,
or a trial running), so their number is bounded by the models that are failing, and capped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from quart_llm.config.models import CircuitSettings
from quart_llm.errors import UpstreamError, UpstreamStatusError
from quart_llm.routing.circuit import CircuitBreaker, CircuitState
from quart_llm.routing.route import Route

MAX_MODEL_BREAKERS = 10_000
"""Model breakers kept at most (per app); past it a new model's failures are not remembered."""


class CircuitBoard:
    """One breaker per provider, and one per provider and model while it matters."""

    def __init__(
        self,
        settings: Mapping[str, CircuitSettings],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._providers = {name: CircuitBreaker(s, clock) for name, s in settings.items()}
        self._models: dict[tuple[str, str], CircuitBreaker] = {}

    def settings(self, provider: str) -> CircuitSettings:
        """The circuit settings of `provider`."""
        return self._settings[provider]

    def blocking(self, route: Route) -> CircuitBreaker | None:
        """The breaker that keeps `route` closed now, if any (the provider's first)."""
        for breaker in self._guards(route):
            if not breaker.permits():
                return breaker
        return None

    def enter(self, route: Route) -> None:
        """A request goes to `route`: take the trial slots of its half-open breakers."""
        for breaker in self._guards(route):
            breaker.allow()

    def record(self, route: Route, error: UpstreamError | None) -> None:
        """Count the outcome of a request to `route` (None: it was answered)."""
        provider = self._providers[route.provider.name]
        key = (route.provider.name, route.model)
        model = self._models.get(key)
        if error is None or error.client_fault:
            provider.record_success()
            if model is not None:
                model.record_success()
        elif isinstance(error, UpstreamStatusError) and error.upstream_status == 429:
            provider.release()
            if model is not None:
                model.release()
        elif error.unreachable:
            provider.record_failure()
            if model is not None:
                model.release()
        else:
            provider.record_success()
            model = model or self._new_model_breaker(key)
            if model is not None:
                model.record_failure()
        if model is not None and model.idle:
            del self._models[key]

    def release(self, route: Route) -> None:
        """A request to `route` ended without an outcome of its own (cancelled, or refused by
        the gateway): free its trial slots."""
        for breaker in self._guards(route):
            breaker.release()

    def provider_state(self, provider: str) -> CircuitState:
        """The state of a provider's own breaker."""
        return self._providers[provider].state

    def model_states(self, provider: str) -> dict[str, CircuitState]:
        """The models of `provider` whose breakers remember failures, and their states."""
        return {
            model: breaker.state
            for (name, model), breaker in list(self._models.items())
            if name == provider
        }

    def all_states(self) -> list[tuple[str, str, str]]:
        """(provider, model or "" for the provider's own breaker, state) of every breaker."""
        states = [(name, "", breaker.state.value) for name, breaker in self._providers.items()]
        states += [(name, model, b.state.value) for (name, model), b in list(self._models.items())]
        return states

    def _guards(self, route: Route) -> list[CircuitBreaker]:
        guards = [self._providers[route.provider.name]]
        model = self._models.get((route.provider.name, route.model))
        if model is not None:
            guards.append(model)
        return guards

    def _new_model_breaker(self, key: tuple[str, str]) -> CircuitBreaker | None:
        if len(self._models) >= MAX_MODEL_BREAKERS:
            return None
        breaker = self._models[key] = CircuitBreaker(self._settings[key[0]], self._clock)
        return breaker
