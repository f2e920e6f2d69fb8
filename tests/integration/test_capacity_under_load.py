"""Thousands of streams through one provider with the shipped defaults: all of them reach the
upstream, health answers while they are open, another request to the same provider is served,
and past the process's admission limit the answer is 503 `overloaded` at once.

One gateway process (`python -m quart_llm serve`, only keys and quota sizes set, plus the
admission limit this test reaches) in front of an OpenAI-style simulator that sends one chunk
and then stays silent, so the streams are idle and held open. Bounded: the streams are opened
in waves, and every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import TEST_KEY
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.gateway_process import GatewayProcess

STREAMS = 2000
WAVE = 250
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
BODY = {"model": "up/sim/paced", "messages": [{"role": "user", "content": "hold on"}]}


def enough_open_files() -> None:
    """Client sockets, the simulator's, and the gateway's two per stream (it inherits this)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 3 * STREAMS + 500
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.fail(f"this test needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[GatewayProcess, OpenAICompatSimulator]]:
    enough_open_files()
    config = SimulatorConfig(first_token_delay=0.0, token_interval=600.0)
    with OpenAICompatSimulator(config) as upstream:
        process = GatewayProcess(
            {
                "api_keys": [TEST_KEY],
                "max_inflight": STREAMS + 1,
                "default_provider": "up",
                "limits": {
                    "default": {"requests": [], "concurrent_streams": STREAMS + 10},
                },
                "providers": {"up": {"kind": "openai", "base_url": f"{upstream.base_url}/v1"}},
            }
        )
        process.start()
        try:
            process.wait_ready()
            yield process, upstream
        finally:
            process.close()


async def open_stream(client: httpx.AsyncClient) -> httpx.Response:
    request = client.build_request(
        "POST", "/v1/chat/stream", json=BODY, headers=AUTH, timeout=httpx.Timeout(60.0)
    )
    response = await client.send(request, stream=True)
    assert response.status_code == 200, response.status_code
    return response


async def timed_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get(path, headers=AUTH)
    return response, time.perf_counter() - started


async def test_thousands_of_streams_reach_the_upstream_and_health_stays_quick(
    gateway: tuple[GatewayProcess, OpenAICompatSimulator],
) -> None:
    process, upstream = gateway
    limits = httpx.Limits(max_connections=STREAMS + 50, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=process.base_url, limits=limits, timeout=60) as client:
        streams: list[httpx.Response] = []
        try:
            async with asyncio.timeout(240):
                for _ in range(STREAMS // WAVE):
                    streams += await asyncio.gather(*(open_stream(client) for _ in range(WAVE)))
            chats = [r for r in upstream.requests if r.path.endswith("/chat/completions")]
            assert len(chats) == STREAMS, "every stream reached the upstream"
            health, health_seconds = await timed_get(client, "/v1/health")
            ready, _ = await timed_get(client, "/v1/health/ready")
            whole = await client.post(
                "/v1/chat/completions",
                json={"model": "up/sim/normal", "messages": BODY["messages"]},
                headers=AUTH,
            )
            streams.append(await open_stream(client))  # the last place
            started = time.perf_counter()
            refused = await client.post("/v1/chat/completions", json=BODY, headers=AUTH)
            refused_seconds = time.perf_counter() - started
        finally:
            await asyncio.gather(*(stream.aclose() for stream in streams))
    assert health.status_code == 200 and ready.status_code == 200
    assert health.json()["providers"]["up"]["reachable"]
    assert whole.status_code == 200, "the same provider served a whole answer meanwhile"
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "overloaded"
    # Generous bounds that only catch a wait (the figures are measured by bench/): before,
    # health waited 2 s behind a full pool and the refusal 5 s.
    assert health_seconds < 1.0 and refused_seconds < 1.0
    print(f"\nhealth {health_seconds * 1000:.1f} ms, refusal {refused_seconds * 1000:.1f} ms")
