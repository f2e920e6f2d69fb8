"""Provider probes: fixed reasons, never what the upstream said (real loopback servers); and
health answers from the last round, which runs in the background."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from quart_llm.config.models import CircuitSettings, ProviderSettings
from quart_llm.providers.mock import MockProvider
from quart_llm.providers.openai_compat import OpenAICompatProvider
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.services.health import HealthChecker
from tests.simulators.hostile import JSON, HostileUpstream, Reply
from tests.support.ports import free_port

KEY = "sk-live-Qm7Xv2Lp9Rt4Wz8Kb3Nc6Hd1Jf5Gs0Ya"
SAID = orjson.dumps({"error": {"message": f"internal host db-7.corp failed for {KEY.upper()}"}})


async def probed(base_url: str) -> dict[str, object]:
    settings = ProviderSettings.model_validate(
        {"kind": "openai", "base_url": base_url, "api_key": KEY}
    )
    provider = OpenAICompatProvider("up", settings)
    checker = HealthChecker({"up": provider}, 2.0, 0.0, CircuitBoard({"up": CircuitSettings()}))
    await provider.start()
    try:
        return (await checker.provider_states())["up"]
    finally:
        await provider.aclose()


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(200, JSON, b'{"data": []}'), None),
        (Reply(401, JSON, SAID), "upstream_error"),
        (Reply(503, JSON, SAID), "upstream_error"),
        (Reply(302, (*JSON, ("Location", "http://db-7.corp/")), SAID), "protocol_error"),
    ],
)
async def test_a_probe_reports_a_fixed_reason(reply: Reply, reason: str | None) -> None:
    with HostileUpstream({}, reply) as upstream:
        state = await probed(f"{upstream.base_url}/v1")
    assert state["error"] == reason
    assert state["reachable"] is (reason is None)
    assert "db-7" not in str(state)


async def test_an_upstream_nobody_listens_on_is_unreachable() -> None:
    state = await probed(f"http://127.0.0.1:{free_port()}/v1")
    assert state["error"] == "unreachable"


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
