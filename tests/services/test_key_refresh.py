"""The keys held in memory follow the database: two registries over one database (two
replicas) see each other's changes within a second, by polling or by Redis pub/sub; a database
that cannot be reached leaves the last snapshot serving, counted, until it returns."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from quart_llm.config.accounting_models import KeysSettings
from quart_llm.errors import AuthenticationFailed
from quart_llm.services.key_refresh import KeyRefresher
from quart_llm.services.key_registry import KeyRegistry
from quart_llm.services.keys import key_id_for_digest
from quart_llm.store.api_keys import ApiKey, ApiKeyTable
from quart_llm.store.database import Database
from tests.support.postgres_server import PostgresServer, postgres_server
from tests.support.redis_server import RedisServer, redis_prefix, redis_server, redis_url

__all__ = ["postgres_server", "redis_prefix", "redis_server", "redis_url"]
SECRET = "qlm-replica-secret"
FAST = KeysSettings(poll_seconds=0.1, safety_poll_seconds=0.1, full_reload_seconds=60)
PUBSUB_ONLY = KeysSettings(poll_seconds=30, safety_poll_seconds=30, full_reload_seconds=60)


def stored_key(secret: str = SECRET) -> ApiKey:
    digest = hashlib.sha256(secret.encode()).digest()
    now = datetime.now(UTC)
    return ApiKey(
        id=key_id_for_digest(digest),
        digest=digest,
        hint="qlm-…cret",
        name="replica",
        created_at=now,
        updated_at=now,
    )


class Replica:
    """One replica's registry and refresher over a shared database."""

    def __init__(self, setting: str, keys: KeysSettings, redis: str = "", prefix: str = "") -> None:
        self.database = Database(setting)
        self.registry = KeyRegistry([SecretStr("static-key")], {})
        self.failures = 0
        self.refresher = KeyRefresher(
            self.registry, self.database, keys, redis, prefix or "quart_llm", self._failed
        )

    def _failed(self) -> None:
        self.failures += 1

    async def start(self) -> None:
        await self.database.start()
        await self.refresher.start()

    async def stop(self) -> None:
        await self.refresher.stop()
        await self.database.stop()

    def accepts(self, secret: str) -> bool:
        try:
            self.registry.authenticate(secret)
        except AuthenticationFailed:
            return False
        return True


async def within(seconds: float, condition: Callable[[], bool]) -> float:
    """How long `condition` took to hold (fails past `seconds`)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, "not in force in time"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[list[Replica]]:
    setting = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    started = [Replica(setting, FAST), Replica(setting, FAST)]
    for replica in started:
        await replica.start()
    yield started
    for replica in started:
        await replica.stop()


async def test_a_change_on_one_replica_is_in_force_on_the_other_by_polling(
    replicas: list[Replica],
) -> None:
    a, b = replicas
    key = stored_key()
    await ApiKeyTable(b.database.engine).insert(key)
    await b.refresher.announce(key.id)
    assert b.accepts(SECRET)
    await within(1.0, lambda: a.accepts(SECRET))
    await ApiKeyTable(b.database.engine).revoke(key.id, datetime.now(UTC))
    await b.refresher.announce(key.id)
    await within(1.0, lambda: not a.accepts(SECRET))
    assert a.accepts("static-key")


async def test_redis_pub_sub_tells_the_other_replica_at_once(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    setting = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    a = Replica(setting, PUBSUB_ONLY, redis_url, redis_prefix)
    b = Replica(setting, PUBSUB_ONLY, redis_url, redis_prefix)
    await a.start()
    await b.start()
    try:
        await within(2.0, lambda: a.refresher.subscribed)
        key = stored_key()
        await ApiKeyTable(b.database.engine).insert(key)
        await b.refresher.announce(key.id)
        await within(1.0, lambda: a.accepts(SECRET))
        await ApiKeyTable(b.database.engine).revoke(key.id, datetime.now(UTC))
        await b.refresher.announce(key.id)
        await within(1.0, lambda: not a.accepts(SECRET))
    finally:
        await a.stop()
        await b.stop()


async def test_a_redis_outage_never_fails_a_change(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The change is committed and in force here; the others' polls find it (fast while
    their subscription is down)."""
    setting = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    a = Replica(setting, PUBSUB_ONLY, redis_server.url, "outage")
    b = Replica(setting, KeysSettings(poll_seconds=0.1, safety_poll_seconds=30), redis_server.url)
    await a.start()
    await b.start()
    try:
        await within(2.0, lambda: b.refresher.subscribed)
        await asyncio.to_thread(redis_server.stop)
        key = stored_key()
        await ApiKeyTable(a.database.engine).insert(key)
        await a.refresher.announce(key.id)
        assert a.accepts(SECRET)
        await within(5.0, lambda: b.accepts(SECRET))
    finally:
        await a.stop()
        await b.stop()


async def test_an_unreachable_database_keeps_the_last_snapshot(
    postgres_server: PostgresServer,
) -> None:
    replica = Replica(postgres_server.url, FAST)
    await replica.start()
    try:
        await ApiKeyTable(replica.database.engine).insert(stored_key())
        await within(1.0, lambda: replica.accepts(SECRET))
        await asyncio.to_thread(postgres_server.stop)
        await within(10.0, lambda: replica.failures >= 2)
        assert replica.accepts(SECRET) and replica.accepts("static-key")
        await asyncio.to_thread(postgres_server.start)
        await insert_once_back(
            ApiKeyTable(replica.database.engine), stored_key("qlm-after-the-outage")
        )
        await within(10.0, lambda: replica.accepts("qlm-after-the-outage"))
    finally:
        await replica.stop()


async def insert_once_back(table: ApiKeyTable, key: ApiKey, seconds: float = 10.0) -> None:
    """Insert `key` as soon as the database takes it again."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            await table.insert(key)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
