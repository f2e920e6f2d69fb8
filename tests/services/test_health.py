"""Provider probes report fixed reasons, never what the upstream said (real loopback servers)."""

from __future__ import annotations

import orjson
import pytest

from quart_llm.config.models import CircuitSettings, ProviderSettings
from quart_llm.providers.openai_compat import OpenAICompatProvider
from quart_llm.routing.circuit import CircuitBreaker
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
    circuit = CircuitBreaker(CircuitSettings())
    checker = HealthChecker({"up": provider}, 2.0, 0.0, {"up": circuit})
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
