"""Try a request until something answers, before any byte has gone to the client.

The primary route gets its retries (backoff, Retry-After honoured) while its circuit is
closed; then each fallback route in turn. A request the upstream refused as invalid (400,
404, 413, 422) is not retried and does not fall back. Everything happens before the request's
deadline expires, and each attempt gets the deadline with its own provider's waits; the last
error is what the client gets when nothing answers.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from quart_llm.errors import GatewayError, UpstreamConnectError, UpstreamError
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.providers.base import Provider
from quart_llm.routing.backoff import retry_delay
from quart_llm.routing.circuit import CircuitBreaker
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.fallback import fallback_routes
from quart_llm.routing.route import Route
from quart_llm.schemas.chat_request import ChatRequest


@dataclass(slots=True)
class AttemptReport:
    """Which route answered, after how many retries and fallbacks."""

    route: Route
    retries: int = 0
    fallbacks: int = 0


@dataclass(frozen=True, slots=True)
class _Answered[T]:
    value: T


class Attempter:
    """Tries a request's routes in turn, with retries, under their circuits."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        circuits: Mapping[str, CircuitBreaker],
        fallbacks: Mapping[str, list[str]],
        metrics: GatewayMetrics,
        rng: random.Random | None = None,
    ) -> None:
        self._metrics = metrics
        self._providers = providers
        self._circuits = circuits
        self._fallbacks = fallbacks
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def routes_for(self, request: ChatRequest, primary: Route) -> list[Route]:
        """The primary route, then each fallback that can take this request."""
        routes = [primary]
        for route in fallback_routes(primary, self._fallbacks, self._providers):
            try:
                route.provider.check_supported(request)
            except GatewayError:
                continue
            routes.append(route)
        return routes

    async def first_answer[T](
        self,
        request: ChatRequest,
        primary: Route,
        deadline: Deadline,
        attempt: Callable[[Route, Deadline], Awaitable[T]],
    ) -> tuple[T, AttemptReport]:
        """The first answer `attempt` gets from the routes in turn, and how it was got; when
        nothing answers, the last upstream error (or the first open circuit)."""
        report = AttemptReport(primary)
        last_error: UpstreamError | None = None
        for index, route in enumerate(self.routes_for(request, primary)):
            report.route = route
            report.fallbacks = index
            circuit = self._circuits[route.provider.name]
            if not circuit.allow():
                skipped = _circuit_open(route, circuit)
                self._metrics.upstream_error(skipped)
                last_error = last_error or skipped
                continue
            outcome = await self._try_route(route, circuit, deadline, attempt, report)
            if isinstance(outcome, UpstreamError):
                last_error = outcome
                continue
            if index:
                self._metrics.fallbacks.labels(primary.provider.name, route.provider.name).inc()
            return outcome.value, report
        if last_error is None:
            raise RuntimeError("no route was tried")
        raise last_error

    async def _try_route[T](
        self,
        route: Route,
        circuit: CircuitBreaker,
        deadline: Deadline,
        attempt: Callable[[Route, Deadline], Awaitable[T]],
        report: AttemptReport,
    ) -> _Answered[T] | UpstreamError:
        """One route with its retries: the answer, or the error that ended its tries. A
        request the upstream refused as invalid is raised at once."""
        loop = asyncio.get_running_loop()
        retry_number = 0
        while True:
            try:
                value = await attempt(
                    route, deadline.for_provider(route.provider.settings.timeouts)
                )
            except UpstreamError as error:
                self._metrics.upstream_error(error)
                if error.client_fault:
                    circuit.record_success()
                    raise
                circuit.record_failure()
                delay = retry_delay(error, retry_number, route.provider.settings.retry, self._rng)
                if (
                    delay is None
                    or loop.time() + delay >= deadline.expires_at
                    or not circuit.allow()
                ):
                    return error
                await asyncio.sleep(delay)
                retry_number += 1
                report.retries += 1
                self._metrics.retries.labels(route.provider.name).inc()
                continue
            circuit.record_success()
            return _Answered(value)

    def record_stream_failure(self, error: UpstreamError) -> None:
        """A failure after the first byte still counts against the provider's circuit."""
        self._metrics.upstream_error(error)
        if not error.client_fault:
            self._circuits[error.provider].record_failure()


def _circuit_open(route: Route, circuit: CircuitBreaker) -> UpstreamError:
    wait = max(1, round(circuit.retry_after_seconds))
    return UpstreamConnectError(
        route.provider.name,
        f"skipped after repeated failures (circuit open for about {wait} more s)",
        code="upstream_circuit_open",
        headers={"Retry-After": str(wait)},
        retryable=False,
    )
