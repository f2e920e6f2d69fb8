"""Try a request until something answers, before any byte has gone to the client.

The first route (the router's plan: an alias's chosen deployment, or the one route) gets its
retries (backoff, Retry-After honoured) while its breakers permit; then each other route in
turn. A request the upstream refused as invalid (400, 404, 413,
422) is not retried and does not fall back. Everything happens before the request's deadline
expires, and each attempt gets the deadline with its own provider's waits; the last error is
what the client gets when nothing answers.

When every route is held open by a breaker, the request is not refused at once: the route
whose breaker opened longest ago is tried anyway, once (panic mode, as Envoy does below its
panic threshold: with no other route, a breaker would only turn "maybe" into "certainly
not"). The primary provider's `circuit.strict` turns this off.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from quart_llm.errors import UpstreamConnectError, UpstreamError
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.routing.backoff import retry_delay
from quart_llm.routing.circuit import CircuitBreaker
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.route import Route


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
    """Tries a request's routes in turn, with retries, under their breakers."""

    def __init__(
        self, circuits: CircuitBoard, metrics: GatewayMetrics, rng: random.Random | None = None
    ) -> None:
        self._metrics = metrics
        self.circuits = circuits
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    async def first_answer[T](
        self,
        routes: list[Route],
        deadline: Deadline,
        attempt: Callable[[Route, Deadline], Awaitable[T]],
    ) -> tuple[T, AttemptReport]:
        """The first answer `attempt` gets from `routes` in turn, and how it was got; when
        nothing answers, the last upstream error (or the first open circuit)."""
        primary = routes[0]
        report = AttemptReport(primary)
        last_error: UpstreamError | None = None
        held_open: list[tuple[int, Route, CircuitBreaker]] = []
        for index, route in enumerate(routes):
            breaker = self.circuits.blocking(route)
            if breaker is not None:
                self._metrics.upstream_errors.labels(route.provider.name, "circuit_open").inc()
                held_open.append((index, route, breaker))
                continue
            report.route, report.fallbacks = route, index
            outcome = await self._try_route(route, deadline, attempt, report, retries=True)
            if not isinstance(outcome, UpstreamError):
                return self._answered(primary, report, outcome)
            last_error = outcome
        if last_error is None and held_open:
            if self.circuits.settings(primary.provider.name).strict:
                raise self._circuit_open(held_open[0][1], held_open[0][2])
            index, route, _ = min(held_open, key=lambda held: held[2].opened_at or -math.inf)
            self._metrics.circuit_panics.labels(route.provider.name).inc()
            report.route, report.fallbacks = route, index
            outcome = await self._try_route(route, deadline, attempt, report, retries=False)
            if not isinstance(outcome, UpstreamError):
                return self._answered(primary, report, outcome)
            last_error = outcome
        if last_error is None:
            raise RuntimeError("no route was tried")
        raise last_error

    def record_stream_failure(self, route: Route, error: UpstreamError) -> None:
        """A failure after the first byte still counts against the route's breakers."""
        self._metrics.upstream_error(error)
        self.circuits.record(route, error)

    async def _try_route[T](
        self,
        route: Route,
        deadline: Deadline,
        attempt: Callable[[Route, Deadline], Awaitable[T]],
        report: AttemptReport,
        *,
        retries: bool,
    ) -> _Answered[T] | UpstreamError:
        """One route with its retries: the answer, or the error that ended its tries. A
        request the upstream refused as invalid is raised at once."""
        loop = asyncio.get_running_loop()
        retry_number = 0
        while True:
            self.circuits.enter(route)
            try:
                value = await attempt(
                    route, deadline.for_provider(route.provider.settings.timeouts)
                )
            except UpstreamError as error:
                self._metrics.upstream_error(error)
                self.circuits.record(route, error)
                if error.client_fault:
                    raise
                delay = retry_delay(error, retry_number, route.provider.settings.retry, self._rng)
                if (
                    not retries
                    or delay is None
                    or loop.time() + delay >= deadline.expires_at
                    or self.circuits.blocking(route) is not None
                ):
                    return error
                await asyncio.sleep(delay)
                retry_number += 1
                report.retries += 1
                self._metrics.retries.labels(route.provider.name).inc()
                continue
            except BaseException:
                self.circuits.release(route)
                raise
            self.circuits.record(route, None)
            return _Answered(value)

    def _answered[T](
        self, primary: Route, report: AttemptReport, outcome: _Answered[T]
    ) -> tuple[T, AttemptReport]:
        if report.fallbacks:
            self._metrics.fallbacks.labels(primary.provider.name, report.route.provider.name).inc()
        return outcome.value, report

    @staticmethod
    def _circuit_open(route: Route, breaker: CircuitBreaker) -> UpstreamError:
        """The 503 for a request whose every route is held open (strict mode)."""
        wait = max(1, round(breaker.retry_after_seconds))
        return UpstreamConnectError(
            route.provider.name,
            f"skipped after repeated failures (circuit open for about {wait} more s)",
            code="upstream_circuit_open",
            headers={"Retry-After": str(wait)},
            retryable=False,
        )
