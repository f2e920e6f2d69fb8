"""Provider probes for the health routes: short, concurrent, run in the background.

While serving, a round of probes runs every `health.cache_seconds` on its own (probes skip
every connection limit), and the health routes answer from the last round's results in
microseconds however busy the gateway is: a load balancer's check never waits behind
requests. Until the first round is in, and where nothing runs the background loop (an app
used without serving), a caller waits for one shared round, bounded by the probe timeout.

Health needs no key, so a failed probe is reported as a fixed reason (`ProbeFailure`), never
with the upstream's words: those may quote a key, an internal host or anything else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.lib.background_tasks import cancel_and_wait
from quart_llm.lib.refreshing import Refreshing
from quart_llm.providers.base import Provider
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.schemas.health import ProbeFailure

logger = logging.getLogger("quart_llm.health")


class HealthChecker:
    """Each provider's reachability (probed, cached) and circuit state."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        probe_timeout: float,
        cache_seconds: float,
        circuits: CircuitBoard,
    ) -> None:
        self._providers = providers
        self._circuits = circuits
        self._probe_timeout = probe_timeout
        self._interval = cache_seconds
        self._probes = Refreshing(self._probe_all, cache_seconds)
        self._latest: dict[str, dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Probe in the background from now on."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._probe_forever())

    async def stop(self) -> None:
        """Stop probing."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def ready(self) -> bool:
        """Whether at least one provider answered its last probe."""
        return any(state["reachable"] for state in (await self._results()).values())

    async def provider_states(self) -> dict[str, dict[str, Any]]:
        """The last probe results, with each provider's circuit states (always current)."""
        states = await self._results()
        return {
            name: {
                **state,
                "circuit": self._circuits.provider_state(name).value,
                "models": {
                    model: circuit.value
                    for model, circuit in sorted(self._circuits.model_states(name).items())
                },
            }
            for name, state in states.items()
        }

    async def _results(self) -> dict[str, dict[str, Any]]:
        if self._latest is not None and self._task is not None:
            return self._latest
        return await self._probes.get()

    async def _probe_forever(self) -> None:
        while True:
            try:
                self._latest = await self._probe_all()
            except Exception:
                logger.exception("a round of health probes failed")
            await asyncio.sleep(self._interval)

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
