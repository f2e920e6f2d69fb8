"""An alias served by two deployments, through a real gateway: the traffic follows the
weights, and a deployment that dies mid-run costs no client a failure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.live_server import LiveServer, running_gateway

HELLO = [{"role": "user", "content": "Hello"}]
FAST_RETRIES = {"attempts": 1, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.02}


def chats(simulator: OpenAICompatSimulator) -> int:
    return sum(r.path.endswith("/chat/completions") for r in simulator.requests)


@pytest.fixture
def two_deployments() -> Iterator[tuple[LiveServer, OpenAICompatSimulator, OpenAICompatSimulator]]:
    with (
        OpenAICompatSimulator(SimulatorConfig()) as first,
        OpenAICompatSimulator(SimulatorConfig()) as second,
    ):
        overrides: dict[str, Any] = {
            "limits": {"default": {"concurrent_streams": 1000, "requests": []}},
            "providers": {
                name: {
                    "kind": "openai",
                    "base_url": f"{simulator.base_url}/v1",
                    "retry": FAST_RETRIES,
                    "circuit": {"failure_threshold": 2, "cooldown_seconds": 60},
                }
                for name, simulator in (("east", first), ("west", second))
            },
            "aliases": {
                "team-llama": {
                    "strategy": "weighted",
                    "deployments": [
                        {"target": "east/sim/normal", "weight": 3},
                        {"target": "west/sim/normal", "weight": 1},
                    ],
                }
            },
        }
        with running_gateway(overrides) as live:
            yield live, first, second


async def ask(client: httpx.AsyncClient, *, stream: bool = False) -> httpx.Response:
    return await client.post(
        "/v1/chat/completions",
        json={"model": "team-llama", "messages": HELLO, "stream": stream},
        headers=AUTH,
    )


async def test_the_traffic_follows_the_weights_and_the_alias_is_listed(
    two_deployments: tuple[LiveServer, OpenAICompatSimulator, OpenAICompatSimulator],
) -> None:
    live, east, west = two_deployments
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        for batch in range(10):
            answers = await asyncio.gather(
                *(ask(client, stream=batch % 2 == 1) for _ in range(100))
            )
            assert {answer.status_code for answer in answers} == {200}
        listed = (await client.get("/v1/models", headers=AUTH)).json()["data"]
    assert abs(chats(east) - 750) <= 50 and abs(chats(west) - 250) <= 50
    assert chats(east) + chats(west) == 1000
    assert {"id": "team-llama", "object": "model", "owned_by": "quart_llm"}.items() <= next(
        card for card in listed if card["id"] == "team-llama"
    ).items()


async def test_a_deployment_that_dies_costs_no_client_a_failure(
    two_deployments: tuple[LiveServer, OpenAICompatSimulator, OpenAICompatSimulator],
) -> None:
    live, _, west = two_deployments
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        before = [await ask(client) for _ in range(20)]
        west.stop()
        after = [await ask(client, stream=index % 2 == 1) for index in range(60)]
        health = (await client.get("/v1/health")).json()["providers"]["west"]
    assert {answer.status_code for answer in before + after} == {200}
    assert health["circuit"] == "open", "the dead deployment's provider is held open"
    answered_by = [answer.headers["X-Quart-LLM-Provider"] for answer in after]
    assert set(answered_by[10:]) == {"east"}
