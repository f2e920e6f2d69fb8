"""What only the Redis store promises: exactness across replicas, expiring keys, outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from redis import exceptions as redis_errors

from quart_llm.quotas.stores.base import QuotaBackendUnavailable, WindowLimit
from quart_llm.quotas.stores.redis_store import UNAVAILABLE_ERRORS, RedisQuotaStore, backend_errors
from quart_llm.quotas.stores.usage_counts import UsageRecord
from tests.support.redis_server import RedisServer

OUTAGE_CALL_BOUND = 2.0


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def replicas(redis_url: str, redis_prefix: str) -> AsyncIterator[list[RedisQuotaStore]]:
    """Three stores with separate connection pools, as three gateway replicas would have."""
    stores = [
        RedisQuotaStore(redis_url, prefix=redis_prefix, socket_timeout=5, connect_timeout=5)
        for _ in range(3)
    ]
    for store in stores:
        await store.start()
    yield stores
    for store in stores:
        await store.close()


async def test_request_limit_is_exact_across_replicas(replicas: list[RedisQuotaStore]) -> None:
    limit = WindowLimit(100, 3600)
    calls = [replicas[i % 3].hit_request_limits("k", [limit]) for i in range(300)]
    decisions = await asyncio.gather(*calls)
    assert sum(decision.allowed for decision in decisions) == 100
    refused = [decision for decision in decisions if not decision.allowed]
    assert all(decision.refused_by == limit for decision in refused)
    assert min(decision.retry_after_seconds for decision in refused) > 35


async def test_token_budget_is_exact_across_replicas(replicas: list[RedisQuotaStore]) -> None:
    limit = WindowLimit(1000, 3600)
    calls = [replicas[i % 3].reserve_tokens("k", [limit], 100) for i in range(50)]
    decisions = await asyncio.gather(*calls)
    assert sum(decision.allowed for decision in decisions) == 10
    assert sorted(d.states[0].remaining for d in decisions if d.allowed) == list(
        range(0, 1000, 100)
    )


async def test_concurrency_cap_is_exact_across_replicas(replicas: list[RedisQuotaStore]) -> None:
    calls = [replicas[i % 3].acquire_lease("k", 5, f"lease-{i}", 60) for i in range(40)]
    results = await asyncio.gather(*calls)
    assert sum(granted for granted, _ in results) == 5
    assert max(in_use for _, in_use in results) == 5


async def _touch_everything(store: RedisQuotaStore) -> dict[int, int]:
    """Call every operation once; returns period → current window number."""
    await store.hit_request_limits("k", [WindowLimit(5, 60), WindowLimit(50, 86400)])
    tokens = [WindowLimit(500, 60), WindowLimit(5000, 86400)]
    reservation = await store.reserve_tokens("k", tokens, 10)
    await store.settle_tokens("k", tokens, reservation.windows, -3)
    await store.acquire_lease("k", 3, "a", 30)
    await store.acquire_lease("k", 3, "b", 90)
    await store.renew_leases({"k": ["a"]}, 60)
    await store.record_usage("k", UsageRecord("ollama", "llama3:8b", 3, 4, False), [60, 86400])
    report = await store.read_usage("k", [60, 86400])
    usage_windows = [window.window_start // window.period_seconds for window in report.windows]
    assert usage_windows == list(reservation.windows), "a window ended during the test"
    return dict(zip((60, 86400), reservation.windows, strict=True))


async def test_every_key_expires_except_the_usage_total(
    redis_store: RedisQuotaStore, raw: redis.asyncio.Redis, redis_prefix: str
) -> None:
    window = await _touch_everything(redis_store)
    keys = [key.decode() async for key in raw.scan_iter(match=f"{redis_prefix}:*")]
    ttls = {key.removeprefix(redis_prefix): await raw.pttl(key) for key in keys}
    assert set(ttls) == {
        ":gcra:k:5:60",
        ":gcra:k:50:86400",
        f":tok:k:500:60:{window[60]}",
        f":tok:k:5000:86400:{window[86400]}",
        ":lease:k",
        f":usage:k:60:{window[60]}",
        f":usage:k:86400:{window[86400]}",
        ":usage:k:total",
    }
    assert ttls.pop(":usage:k:total") == -1
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    assert 11_000 < ttls[":gcra:k:5:60"] <= 12_000
    assert 85_000 < ttls[":lease:k"] <= 90_000
    assert 60_000 < ttls[f":tok:k:500:60:{window[60]}"] <= 120_000
    assert 60_000 < ttls[f":usage:k:60:{window[60]}"] <= 120_000


async def test_lease_key_expires_with_its_longest_lease(
    redis_store: RedisQuotaStore, raw: redis.asyncio.Redis, redis_prefix: str
) -> None:
    key = f"{redis_prefix}:lease:k"
    await redis_store.acquire_lease("k", 3, "long", 50)
    await redis_store.acquire_lease("k", 3, "short", 10)
    assert 45_000 < await raw.pttl(key) <= 50_000
    await redis_store.renew_leases({"k": ["short"]}, 100)
    assert 95_000 < await raw.pttl(key) <= 100_000


async def test_settle_never_resurrects_or_touches_an_ended_window(
    redis_store: RedisQuotaStore, raw: redis.asyncio.Redis, redis_prefix: str
) -> None:
    limit = WindowLimit(10, 1)
    if time.time() % 1 > 0.7:
        await asyncio.sleep(1.01 - time.time() % 1)
    reservation = await redis_store.reserve_tokens("k", [limit], 4)
    window = reservation.windows[0]
    await asyncio.sleep(reservation.states[0].reset_seconds + 0.05)
    await redis_store.settle_tokens("k", [limit], reservation.windows, 5)
    assert await raw.get(f"{redis_prefix}:tok:k:10:1:{window}") in {b"4", None}
    await redis_store.settle_tokens("k", [limit], [window + 1], 5)
    assert await raw.exists(f"{redis_prefix}:tok:k:10:1:{window + 1}") == 0


async def test_lost_scripts_are_loaded_again(
    redis_store: RedisQuotaStore, raw: redis.asyncio.Redis
) -> None:
    assert (await redis_store.hit_request_limits("k", [WindowLimit(2, 60)])).allowed
    await raw.script_flush()
    assert (await redis_store.hit_request_limits("k", [WindowLimit(2, 60)])).allowed
    assert not (await redis_store.hit_request_limits("k", [WindowLimit(2, 60)])).allowed


async def _expect_unavailable(store: RedisQuotaStore) -> None:
    calls = [
        store.hit_request_limits("k", [WindowLimit(5, 60)]),
        store.reserve_tokens("k", [WindowLimit(5, 60)], 1),
        store.settle_tokens("k", [WindowLimit(5, 60)], [1], 1),
        store.acquire_lease("k", 1, "a", 5),
        store.renew_leases({"k": ["a"]}, 5),
        store.release_lease("k", "a"),
        store.record_usage("k", UsageRecord("p", "m", 1, 1, False), [60]),
        store.read_usage("k", [60]),
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(QuotaBackendUnavailable):
            await call
        assert time.monotonic() - started < OUTAGE_CALL_BOUND


async def test_outage_fails_fast_and_recovers_by_itself(redis_server: RedisServer) -> None:
    store = RedisQuotaStore(redis_server.url, prefix="outage")
    await store.start()
    try:
        limit = WindowLimit(3, 3600)
        assert (await store.hit_request_limits("k", [limit])).allowed
        redis_server.stop()
        await _expect_unavailable(store)
        redis_server.restart()
        assert (await store.hit_request_limits("k", [limit])).states[0].remaining == 2
        redis_server.stop(kill=True)
        await _expect_unavailable(store)
        redis_server.restart()
        assert await store.acquire_lease("k", 1, "a", 5) == (True, 1)
    finally:
        await store.close()


async def test_a_frozen_server_times_out_and_recovers(redis_server: RedisServer) -> None:
    store = RedisQuotaStore(redis_server.url, prefix="frozen", socket_timeout=0.2)
    await store.start()
    try:
        assert (await store.reserve_tokens("k", [WindowLimit(5, 3600)], 1)).allowed
        redis_server.pause()
        try:
            await _expect_unavailable(store)
        finally:
            redis_server.resume()
        decision = await store.reserve_tokens("k", [WindowLimit(5, 3600)], 1)
        assert decision.allowed
        assert decision.states[0].remaining in {2, 3}
    finally:
        await store.close()


async def test_starting_without_redis_is_no_error(redis_server: RedisServer) -> None:
    redis_server.stop()
    store = RedisQuotaStore(redis_server.url, prefix="late")
    await store.start()
    try:
        await _expect_unavailable(store)
        redis_server.restart()
        assert await store.acquire_lease("k", 1, "a", 5) == (True, 1)
    finally:
        await store.close()


async def test_calls_before_start_are_a_programming_error() -> None:
    store = RedisQuotaStore("redis://127.0.0.1:1/0")
    with pytest.raises(RuntimeError, match="start"):
        await store.hit_request_limits("k", [WindowLimit(1, 1)])
    with pytest.raises(RuntimeError, match="start"):
        await store.release_lease("k", "a")
    await store.close()


@pytest.mark.parametrize(
    "error",
    [
        *(kind("boom") for kind in UNAVAILABLE_ERRORS),
        redis_errors.BusyLoadingError("loading"),
        redis_errors.MaxConnectionsError("pool"),
        redis_errors.MasterDownError("down"),
        TimeoutError("slow"),
        ConnectionRefusedError("refused"),
    ],
    ids=repr,
)
def test_unreachable_errors_are_mapped(error: Exception) -> None:
    with pytest.raises(QuotaBackendUnavailable) as caught, backend_errors():
        raise error
    assert caught.value.__cause__ is error


def test_script_bugs_are_not_hidden() -> None:
    with pytest.raises(redis_errors.ResponseError), backend_errors():
        raise redis_errors.ResponseError("ERR user_script:1: bad")
