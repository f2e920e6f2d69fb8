"""The gateway's own limits answer at once with 503 `overloaded`, and are never blamed on an
upstream: no upstream error in the metrics, no mark on a breaker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from quart_llm.errors import Overloaded
from quart_llm.services.capacity import Capacity
from tests.conftest import AUTH
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.live_server import running_gateway

HELLO = [{"role": "user", "content": "Hello"}]


def test_capacity_refuses_past_its_limit_and_takes_again_once_given_back() -> None:
    capacity = Capacity(2)
    capacity.take()
    capacity.take()
    with pytest.raises(Overloaded) as refused:
        capacity.take()
    assert refused.value.status == 503
    assert refused.value.headers["Retry-After"] == "1"
    capacity.give_back()
    capacity.take()
    assert capacity.in_flight == 2


@pytest.fixture
def slow_upstream() -> Iterator[OpenAICompatSimulator]:
    with OpenAICompatSimulator(SimulatorConfig(token_interval=0.5)) as simulator:
        yield simulator


async def open_stream(client: httpx.AsyncClient, model: str) -> httpx.Response:
    request = client.build_request(
        "POST",
        "/v1/chat/completions",
        json={"model": model, "messages": HELLO, "stream": True},
        headers=AUTH,
    )
    response = await client.send(request, stream=True)
    assert response.status_code == 200
    return response


async def test_past_max_inflight_a_request_is_overloaded_at_once(
    slow_upstream: OpenAICompatSimulator,
) -> None:
    overrides: dict[str, Any] = {
        "max_inflight": 2,
        "providers": {"up": {"kind": "openai", "base_url": f"{slow_upstream.base_url}/v1"}},
    }
    with running_gateway(overrides) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as client:
            streams = [await open_stream(client, "up/sim/paced") for _ in range(2)]
            refused = await client.post(
                "/v1/chat/completions", json={"model": "mock-1", "messages": HELLO}, headers=AUTH
            )
            for stream in streams:
                await stream.aclose()
            await asyncio.sleep(0.2)  # the streams' ends are settled
            again = await client.post(
                "/v1/chat/completions", json={"model": "mock-1", "messages": HELLO}, headers=AUTH
            )
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "overloaded"
    assert refused.headers["Retry-After"] == "1"
    assert again.status_code == 200


async def test_a_full_connection_limit_is_the_gateways_overload_not_the_upstreams(
    slow_upstream: OpenAICompatSimulator,
) -> None:
    overrides: dict[str, Any] = {
        "metrics": {"public": True},
        "providers": {
            "up": {
                "kind": "openai",
                "base_url": f"{slow_upstream.base_url}/v1",
                "max_connections": 1,
                "pool_wait_seconds": 0.2,
                "circuit": {"failure_threshold": 1},
            }
        },
    }
    with running_gateway(overrides) as live:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as client:
            holder = await open_stream(client, "up/sim/paced")
            refused = [
                await client.post(
                    "/v1/chat/completions",
                    json={"model": "up/sim/normal", "messages": HELLO},
                    headers=AUTH,
                )
                for _ in range(3)
            ]
            health = (await client.get("/v1/health")).json()["providers"]["up"]
            metrics = (await client.get("/metrics")).text
            await holder.aclose()
    assert [r.status_code for r in refused] == [503, 503, 503]
    assert {r.json()["error"]["code"] for r in refused} == {"overloaded"}
    assert all("busy" in r.json()["error"]["message"] for r in refused)
    assert health["circuit"] == "closed" and health["models"] == {}
    assert "quart_llm_upstream_errors_total" not in metrics.replace(
        "# HELP quart_llm_upstream_errors_total", ""
    ).replace("# TYPE quart_llm_upstream_errors_total", "")
    chats = [r for r in slow_upstream.requests if r.path.endswith("/chat/completions")]
    assert len(chats) == 1, "the refused requests never reached the upstream"
    assert health["reachable"], "probes take no connection slot"
