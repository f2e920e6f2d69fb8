"""Provider probes for `/v1/health`: short, concurrent, cached, so health can neither hang nor
hammer the upstreams. Concurrent callers share one round of probes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from quart_llm.errors import UpstreamError
from quart_llm.providers.base import Provider
from quart_llm.resilience.circuit import CircuitBreaker


class HealthChecker:
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
        self._cache_seconds = cache_seconds
        self._cached: dict[str, dict[str, Any]] | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()

    async def provider_states(self) -> dict[str, dict[str, Any]]:
        """Probe results (cached) with each provider's circuit state (always current)."""
        states = await self._probed()
        return {
            name: {**state, "circuit": self._circuits[name].state.value}
            for name, state in states.items()
        }

    async def _probed(self) -> dict[str, dict[str, Any]]:
        if self._fresh():
            return self._cached or {}
        async with self._lock:
            if not self._fresh():
                names = list(self._providers)
                results = await asyncio.gather(*(self._probe(name) for name in names))
                self._cached = dict(zip(names, results, strict=True))
                self._cached_at = time.monotonic()
        return self._cached or {}

    def _fresh(self) -> bool:
        return self._cached is not None and time.monotonic() - self._cached_at < self._cache_seconds

    async def _probe(self, name: str) -> dict[str, Any]:
        provider = self._providers[name]
        started = time.perf_counter()
        error: str | None = None
        try:
            async with asyncio.timeout(self._probe_timeout):
                await provider.probe()
        except TimeoutError:
            error = f"no answer within {self._probe_timeout:g} s"
        except UpstreamError as exc:
            error = exc.detail
        return {
            "kind": provider.kind,
            "reachable": error is None,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "error": error,
        }
