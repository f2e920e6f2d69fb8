"""Real gateway processes sharing one real Redis: limits hold exactly across replicas, a token
budget is never exceeded by more than one request's reservation, and an outage of Redis is
handled as configured and recovered from."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio

from quart_llm.services.keys import key_id_for_key
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.gateway_process import GatewayProcess, gateway_processes
from tests.support.redis_server import RedisServer

REQUEST_KEY, TOKEN_KEY, STREAM_KEY = "key-requests", "key-tokens", "key-streams"
HELLO = [{"role": "user", "content": "Hello there"}]
PROMPT_ESTIMATE = 7  # ceil(len("Hello there") / 4) + 4 per message


@pytest.fixture(scope="module")
def replicas(redis_url: str) -> Iterator[list[GatewayProcess]]:
    limits = {
        "tiers": {
            "requests": {
                "requests": [{"count": 100, "period_seconds": 3600}],
                "concurrent_streams": 0,
            },
            "tokens": {
                "requests": [],
                "tokens": [{"count": 1000, "period_seconds": 3600}],
                "concurrent_streams": 0,
            },
            "streams": {"requests": [], "concurrent_streams": 5},
        },
        "keys": {
            key_id_for_key(REQUEST_KEY): "requests",
            key_id_for_key(TOKEN_KEY): "tokens",
            key_id_for_key(STREAM_KEY): "streams",
        },
    }
    settings: dict[str, Any] = {
        "api_keys": [REQUEST_KEY, TOKEN_KEY, STREAM_KEY],
        "redis_url": redis_url,
        "redis_key_prefix": f"test-{uuid.uuid4().hex[:8]}",
        "limits": limits,
        "providers": {"mock": {"kind": "mock", "options": {"first_token_delay_seconds": 1.0}}},
    }
    with gateway_processes(3, settings) as processes:
        yield processes


async def spread(
    replicas: list[GatewayProcess],
    count: int,
    key: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
) -> list[int]:
    """`count` concurrent requests, round-robin over the replicas; their statuses."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        targets = itertools.cycle(replicas)
        calls = [
            client.request(
                method,
                f"{next(targets).base_url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
            )
            for _ in range(count)
        ]
        responses = await asyncio.gather(*calls)
    return [response.status_code for response in responses]


async def test_300_concurrent_requests_against_100_admit_exactly_100(
    replicas: list[GatewayProcess],
) -> None:
    statuses = await spread(replicas, 300, REQUEST_KEY, "GET", "/v1/models")
    assert statuses.count(200) == 100
    assert statuses.count(429) == 200


async def test_token_budget_admits_exactly_what_fits(replicas: list[GatewayProcess]) -> None:
    body = {"model": "mock-1", "messages": HELLO, "max_tokens": 100 - PROMPT_ESTIMATE}
    statuses = await spread(replicas, 40, TOKEN_KEY, "POST", "/v1/chat/completions", body)
    assert statuses.count(200) == 10, "each reserves 100 of 1000 before any settles"
    assert statuses.count(429) == 30
    async with httpx.AsyncClient() as client:
        usage = (
            await client.get(
                f"{replicas[1].base_url}/v1/usage", headers={"Authorization": f"Bearer {TOKEN_KEY}"}
            )
        ).json()
    assert usage["total"]["requests"] == 10
    assert usage["total"]["total_tokens"] < 1000, "settled to the real usage"


async def test_concurrency_cap_of_5_never_has_more_open(replicas: list[GatewayProcess]) -> None:
    body = {"model": "mock-1", "messages": HELLO}
    statuses = await spread(replicas, 25, STREAM_KEY, "POST", "/v1/chat/stream", body)
    assert statuses.count(200) == 5
    assert statuses.count(429) == 20
    again = await spread(replicas, 3, STREAM_KEY, "POST", "/v1/chat/stream", body)
    assert again == [200, 200, 200], "every slot came back when its stream ended"


async def test_a_budget_is_never_exceeded_by_more_than_one_reservation(
    redis_url: str, redis_prefix: str
) -> None:
    """Every answer goes past its limit (2,000 tokens) and its prompt is counted higher
    upstream than estimated (203 tokens for 104), so each settles above its reservation."""
    budget, default_max_tokens = 2000, 50
    prompt = "a " * 200
    reservation = -(-len(prompt) // 4) + 4 + default_max_tokens
    settings: dict[str, Any] = {
        "api_keys": [TOKEN_KEY],
        "redis_url": redis_url,
        "redis_key_prefix": redis_prefix,
        "default_provider": "upstream",
        "limits": {
            "default": {
                "requests": [],
                "concurrent_streams": 0,
                "tokens": [{"count": budget, "period_seconds": 3600}],
                "default_max_tokens": default_max_tokens,
            }
        },
    }
    body = {"model": "upstream/ignore-limit", "messages": [{"role": "user", "content": prompt}]}
    raw = redis.asyncio.Redis.from_url(redis_url)
    with OpenAICompatSimulator(SimulatorConfig()) as upstream:
        settings["providers"] = {
            "upstream": {"kind": "openai", "base_url": f"{upstream.base_url}/v1"}
        }
        with gateway_processes(2, settings) as gateways:
            left_in_window = 3600 - time.time() % 3600
            if left_in_window < 30:
                await asyncio.sleep(left_in_window + 0.1)  # all in one budget window
            statuses = []
            for _ in range(3):
                statuses += await spread(
                    gateways, 24, TOKEN_KEY, "POST", "/v1/chat/completions", body
                )
    try:
        window = int(time.time()) // 3600
        key = f"{redis_prefix}:tok:{key_id_for_key(TOKEN_KEY)}:{budget}:3600:{window}"
        charged = int(await raw.get(key) or 0)
    finally:
        await raw.aclose()
    # Reserved at once, exactly `budget // reservation` fit; a settlement above its reservation
    # that lands before a later reservation leaves room for fewer, never for more.
    assert 1 <= statuses.count(200) <= budget // reservation, "never more than fits"
    assert set(statuses) == {200, 429}
    assert budget < charged <= budget + reservation


@pytest.mark.parametrize("policy", ["closed", "open"])
async def test_redis_outage_follows_the_policy_and_recovers(policy: str) -> None:
    server = RedisServer()
    server.start()
    settings = {
        "api_keys": [REQUEST_KEY],
        "redis_url": server.url,
        "limits": {
            "on_store_failure": policy,
            "default": {"requests": [{"count": 1000, "period_seconds": 3600}]},
        },
    }
    try:
        with gateway_processes(1, settings) as (gateway,):
            before = await spread([gateway], 3, REQUEST_KEY, "GET", "/v1/models")
            server.stop()
            during = await spread([gateway], 3, REQUEST_KEY, "GET", "/v1/models")
            server.restart()
            after = await spread([gateway], 3, REQUEST_KEY, "GET", "/v1/models")
            async with httpx.AsyncClient() as client:
                response = await client.get(
                    f"{gateway.base_url}/v1/models",
                    headers={"Authorization": f"Bearer {REQUEST_KEY}"},
                )
            output = gateway.output()
    finally:
        server.close()
    assert before == [200, 200, 200]
    assert during == ([503, 503, 503] if policy == "closed" else [200, 200, 200])
    assert after == [200, 200, 200]
    assert int(response.headers["RateLimit-Remaining"]) < 1000, "counting resumed"
    if policy == "open":
        assert "QUOTA STORE UNREACHABLE" in output


async def test_slots_of_a_crashed_replica_expire_by_themselves(redis_url: str) -> None:
    settings = {
        "api_keys": [STREAM_KEY],
        "redis_url": redis_url,
        "redis_key_prefix": f"test-{uuid.uuid4().hex[:8]}",
        "limits": {"lease_seconds": 3, "default": {"requests": [], "concurrent_streams": 2}},
        "providers": {"mock": {"kind": "mock", "options": {"tokens_per_second": 1}}},
    }
    headers = {"Authorization": f"Bearer {STREAM_KEY}"}
    body = {"model": "mock-1", "messages": HELLO}
    with gateway_processes(2, settings) as (doomed, survivor):
        async with httpx.AsyncClient(timeout=30) as client:
            streams = [
                client.stream(
                    "POST", f"{doomed.base_url}/v1/chat/stream", json=body, headers=headers
                )
                for _ in range(2)
            ]
            opened = [await stream.__aenter__() for stream in streams]
            assert [response.status_code for response in opened] == [200, 200]
            refused = await client.post(
                f"{survivor.base_url}/v1/chat/stream", json=body, headers=headers
            )
            assert refused.status_code == 429
            assert doomed.process is not None
            doomed.process.kill()
            doomed.process.wait()
            for stream in streams:
                with contextlib.suppress(httpx.HTTPError):
                    await stream.__aexit__(None, None, None)
            statuses = []
            for _ in range(40):
                response = await client.post(
                    f"{survivor.base_url}/v1/chat/completions", json=body, headers=headers
                )
                statuses.append(response.status_code)
                if response.status_code == 200:
                    break
                await asyncio.sleep(0.25)
    assert statuses[0] == 429, "the dead replica's slots are still leased at first"
    assert statuses[-1] == 200, "and free once their leases expire"
    assert len(statuses) <= 24, "within about one lease time (3 s)"


async def test_a_usd_budget_admits_exactly_what_fits_across_3_replicas(
    redis_url: str, redis_prefix: str
) -> None:
    """$1 a day at $0.001 a prompt token and $0.002 a completion token: each request's worst
    case is 7 x 0.001 + 10 x 0.002 = $0.027, so 37 fit and the 38th would cross."""
    worst_case_micros, budget_micros = 27_000, 1_000_000
    settings: dict[str, Any] = {
        "api_keys": [TOKEN_KEY],
        "redis_url": redis_url,
        "redis_key_prefix": redis_prefix,
        "limits": {
            "default": {
                "requests": [],
                "concurrent_streams": 0,
                "usd": [{"amount": 1, "period_seconds": 86_400}],
            }
        },
        "pricing": {
            "models": {"mock/mock-1": {"input_per_million": 1000, "output_per_million": 2000}}
        },
        "providers": {"mock": {"kind": "mock", "options": {"first_token_delay_seconds": 2.0}}},
    }
    body = {"model": "mock-1", "messages": HELLO, "max_tokens": 10}
    raw = redis.asyncio.Redis.from_url(redis_url)
    with gateway_processes(3, settings) as gateways:
        if 86_400 - time.time() % 86_400 < 30:
            await asyncio.sleep(30)  # all in one day's window
        statuses = await spread(gateways, 60, TOKEN_KEY, "POST", "/v1/chat/completions", body)
        refused = await spread(gateways, 3, TOKEN_KEY, "POST", "/v1/chat/completions", body)
        gateways[0].stop()  # stopped, it has written every batched log line
        output = gateways[0].output()
    try:
        window = int(time.time()) // 86_400
        key_id = key_id_for_key(TOKEN_KEY)
        key = f"{redis_prefix}:tok:usd:{key_id}:{budget_micros}:86400:{window}"
        charged = int(await raw.get(key) or 0)
    finally:
        await raw.aclose()
    assert statuses.count(200) == budget_micros // worst_case_micros == 37
    assert statuses.count(429) == 23
    assert refused == [429, 429, 429]
    assert charged == 37 * worst_case_micros, "each settled at its real cost: its worst case"
    assert '"error.type":"usd_limit_exceeded"' in output
