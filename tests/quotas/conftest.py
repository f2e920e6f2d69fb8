"""Fixtures for the quota store tests: both stores behind one harness, real Redis on loopback.

`store_harness` is parametrized over the in-process and the Redis store. Time moves through
`harness.advance(seconds)`: the memory store's clock jumps, while Redis (whose scripts read
the server's clock) makes the test really wait, so Redis-side advances stay short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from quart_llm.quotas.stores.base import QuotaStore
from quart_llm.quotas.stores.memory_store import MemoryQuotaStore
from quart_llm.quotas.stores.redis_store import RedisQuotaStore
from tests.support.redis_server import redis_prefix, redis_server, redis_url

__all__ = ["FakeClock", "StoreHarness", "redis_prefix", "redis_server", "redis_url"]


class FakeClock:
    """A wall clock that only moves when told; starts mid-way through a whole hour."""

    def __init__(self, start: float | None = None) -> None:
        self.now = start if start is not None else (time.time() // 3600) * 3600 + 1800.25

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class StoreHarness:
    kind: str
    store: QuotaStore
    advance: Callable[[float], Awaitable[None]]
    now: Callable[[], float]
    """The store's clock (for Redis: this host's, the server being local)."""

    def seconds_into_window(self, period: int) -> float:
        return self.now() % period

    async def next_window(self, period: int) -> None:
        await self.advance(period - self.seconds_into_window(period) + 0.05)

    async def fresh_window(self, period: int, margin: float = 0.3) -> None:
        """Wait (or jump) until at least `margin` of the window is left (short periods only)."""
        left = period - self.seconds_into_window(period)
        if left < margin * period:
            await self.advance(left + 0.01)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def memory_store(clock: FakeClock) -> AsyncIterator[MemoryQuotaStore]:
    store = MemoryQuotaStore(clock)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def redis_store(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisQuotaStore]:
    store = RedisQuotaStore(redis_url, prefix=redis_prefix, socket_timeout=5, connect_timeout=5)
    await store.start()
    yield store
    await store.close()


@pytest.fixture(params=["memory", "redis"])
def store_harness(request: pytest.FixtureRequest, clock: FakeClock) -> StoreHarness:
    if request.param == "memory":
        memory: MemoryQuotaStore = request.getfixturevalue("memory_store")

        async def jump(seconds: float) -> None:
            clock.advance(seconds)

        return StoreHarness("memory", memory, jump, clock)
    redis: RedisQuotaStore = request.getfixturevalue("redis_store")
    return StoreHarness("redis", redis, asyncio.sleep, time.time)
