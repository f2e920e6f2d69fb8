"""Provider probes for `/v1/health`: short, concurrent, cached, so health can neither hang nor
hammer the upstreams. Concurrent callers share one round of probes.

Health needs no key, so a failed probe is reported as a fixed reason (`ProbeFailure`), never
with the upstream's words: those may quote a key, an internal host or anything else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.lib.refreshing import Refreshing
from quart_llm.providers.base import Provider
from quart_llm.routing.circuit import CircuitBreaker
from quart_llm.schemas.health import ProbeFailure


class HealthChecker:
    """Each provider's reachability (probed, cached) and circuit state."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        probe_timeout: float,
        cache_seconds: float,
        circuits: Mapping[str, CircuitBreaker],
    ) -> None:
        self._providers = providers
        self._circuits = circuits
        self._probe_timeout = probe_timeout
        self._probes = Refreshing(self._probe_all, cache_seconds)

    async def provider_states(self) -> dict[str, dict[str, Any]]:
        """Probe results (cached) with each provider's circuit state (always current)."""
        states = await self._probes.get()
        return {
            name: {**state, "circuit": self._circuits[name].state.value}
            for name, state in states.items()
        }

    async def _probe_all(self) -> dict[str, dict[str, Any]]:
        names = list(self._providers)
        results = await asyncio.gather(*(self._probe(name) for name in names))
        return dict(zip(names, results, strict=True))

    async def _probe(self, name: str) -> dict[str, Any]:
        provider = self._providers[name]
        started = time.perf_counter()
        error: ProbeFailure | None = None
        try:
            async with asyncio.timeout(self._probe_timeout):
                await provider.probe()
        except TimeoutError:
            error = "timeout"
        except UpstreamError as exc:
            error = probe_failure(exc)
        return {
            "kind": provider.kind,
            "reachable": error is None,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "error": error,
        }


def probe_failure(error: UpstreamError) -> ProbeFailure:
    """The fixed reason a probe failed with: what kind of failure, not what was said."""
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamConnectError):
        return "unreachable"
    if isinstance(error, UpstreamProtocolError):
        return "protocol_error"
    return "upstream_error"
