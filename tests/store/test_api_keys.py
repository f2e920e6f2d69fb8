"""The `api_keys` queries against SQLite and PostgreSQL: a key round-trips exactly (hostile
text included), pages continue where they stopped, filters and status agree with the keys held
in memory, a revocation keeps its first time, changes are found by their time."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from quart_llm.store.api_keys import ApiKey, ApiKeyTable, KeyBudgets, KeyFilter
from quart_llm.store.database import Database

T0 = datetime(2026, 12, 5, 4, 20, 0, 123456, tzinfo=UTC)
HOSTILE = "'; DROP TABLE api_keys; -- 名前 🔑 \u202e %_\\"


def make_key(n: int, **fields: object) -> ApiKey:
    digest = hashlib.sha256(f"secret-{n}".encode()).digest()
    values: dict[str, object] = {
        "id": f"key_{n:012d}",
        "digest": digest,
        "hint": "qlm-…abcd",
        "name": f"key {n}",
        "created_at": T0 + timedelta(seconds=n // 2),  # pairs share a time: ids break ties
        "updated_at": T0 + timedelta(seconds=n // 2),
        **fields,
    }
    return ApiKey(**values)  # type: ignore[arg-type]


@pytest.fixture
async def table(database_setting: str) -> AsyncIterator[ApiKeyTable]:
    database = Database(database_setting)
    await database.start()
    try:
        yield ApiKeyTable(database.engine)
    finally:
        await database.stop()


async def test_a_key_round_trips_exactly(table: ApiKeyTable) -> None:
    key = make_key(
        1,
        name=HOSTILE,
        owner=HOSTILE,
        metadata={HOSTILE: [HOSTILE, 1, 2.5, None, {"n": True}]},
        tier="gold",
        allowed_models=("ollama/*", HOSTILE),
        budgets=KeyBudgets(tokens_per_day=10**12, usd_per_month=0.1),
        expires_at=T0 + timedelta(days=30),
    )
    await table.insert(key)
    assert await table.get(key.id) == key
    assert await table.get("key_missing") is None


async def test_pages_continue_where_they_stopped(table: ApiKeyTable) -> None:
    keys = [make_key(n) for n in range(7)]
    for key in reversed(keys):
        await table.insert(key)
    seen: list[ApiKey] = []
    after = None
    while True:
        page = await table.page(KeyFilter(), T0, 3, after)
        seen += page
        if len(page) < 3:
            break
        after = (page[-1].created_at, page[-1].id)
    assert seen == keys


async def test_filters_agree_with_status(table: ApiKeyTable) -> None:
    now = T0 + timedelta(hours=1)
    keys = [
        make_key(0, owner="o"),
        make_key(1, revoked_at=T0),
        make_key(2, expires_at=now - timedelta(seconds=1)),
        make_key(3, expires_at=now + timedelta(seconds=1), owner="o"),
        make_key(4, expires_at=now),
    ]
    for key in keys:
        await table.insert(key)
    for keep in (
        KeyFilter(status="active"),
        KeyFilter(status="revoked"),
        KeyFilter(status="expired"),
        KeyFilter(owner="o"),
        KeyFilter(name="key 2"),
        KeyFilter(status="active", owner="o"),
    ):
        expected = [key for key in keys if keep.keeps(key, now)]
        assert await table.page(keep, now, 100) == expected, keep
    assert [key.status(now) for key in keys] == [
        "active", "revoked", "expired", "active", "expired",
    ]  # fmt: skip


async def test_a_revocation_keeps_its_first_time(table: ApiKeyTable) -> None:
    await table.insert(make_key(1))
    first = await table.revoke("key_000000000001", T0 + timedelta(minutes=1))
    again = await table.revoke("key_000000000001", T0 + timedelta(minutes=2))
    assert first is not None and again is not None
    assert first.revoked_at == again.revoked_at == T0 + timedelta(minutes=1)
    assert await table.revoke("key_missing", T0) is None


async def test_changes_are_found_by_their_time(table: ApiKeyTable) -> None:
    for n in range(4):
        await table.insert(make_key(n))
    later = T0 + timedelta(minutes=5)
    updated = await table.update("key_000000000000", {"name": HOSTILE, "updated_at": later})
    assert updated is not None and updated.name == HOSTILE and updated.updated_at == later
    assert [key.id for key in await table.changed_since(later)] == ["key_000000000000"]
    assert len(await table.changed_since(None)) == 4
    assert await table.update("key_missing", {"name": "x", "updated_at": later}) is None
