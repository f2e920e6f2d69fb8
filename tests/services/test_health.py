"""Health answers from the last round of probes, which runs in the background: a request
never waits for an upstream once the first round is in."""

from __future__ import annotations

import asyncio

from quart_llm.config.models import CircuitSettings, ProviderSettings
from quart_llm.providers.mock import MockProvider
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.services.health import HealthChecker


class StallingProvider(MockProvider):
    """A mock whose probe answers only when the test lets it."""

    def __init__(self) -> None:
        super().__init__("slow", ProviderSettings(kind="mock"))
        self.may_answer = asyncio.Event()
        self.probes = 0

    async def probe(self) -> None:
        self.probes += 1
        await self.may_answer.wait()


async def test_health_answers_from_the_last_round_while_the_next_one_stalls() -> None:
    provider = StallingProvider()
    checker = HealthChecker(
        {"slow": provider},
        probe_timeout=30,
        cache_seconds=0.01,
        circuits=CircuitBoard({"slow": CircuitSettings()}),
    )
    checker.start()
    try:
        provider.may_answer.set()
        first = await asyncio.wait_for(checker.provider_states(), 5)
        assert first["slow"]["reachable"]
        provider.may_answer.clear()
        cleared_at = provider.probes
        async with asyncio.timeout(5):
            while provider.probes == cleared_at:  # a round begun since is stuck in its probe
                await asyncio.sleep(0.01)
        later = await asyncio.wait_for(checker.provider_states(), 1)
        assert later["slow"]["reachable"], "the last finished round answers"
        assert await asyncio.wait_for(checker.ready(), 1)
    finally:
        await checker.stop()
