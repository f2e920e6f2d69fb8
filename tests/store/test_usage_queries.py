"""Usage records in SQL, on SQLite and PostgreSQL alike: a batch written twice counts once,
reports sum what they should per key, model, provider and UTC day within their period, an
unknown cost stays unknown, and the newest records come first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from quart_llm.store.database import Database
from quart_llm.store.usage_queries import (
    ReportQuery,
    insert_records,
    recent_records,
    usage_report,
)

DAY = datetime(2026, 12, 5, tzinfo=UTC)


def usage_row(number: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "record_id": f"{number:032x}",
        "created_at": DAY + timedelta(hours=1, seconds=number),
        "request_id": f"req_{number}",
        "key_id": "key_a",
        "route": "/v1/chat/completions",
        "provider": "mock",
        "model": "mock-1",
        "alias": None,
        "status": 200,
        "outcome": "ok",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "tokens_estimated": False,
        "cost_usd": None,
        "duration_ms": 12.5,
        "ttft_ms": None,
        "retries": 0,
        "fallbacks": 0,
        "error_code": None,
    }
    return row | fields


@pytest.fixture
async def database(database_setting: str) -> AsyncIterator[Database]:
    database = Database(database_setting)
    await database.start()
    yield database
    await database.stop()


ROWS = [
    usage_row(1, cost_usd=0.25),
    usage_row(2, cost_usd=0.5, model="mock-2"),
    usage_row(3, key_id="key_b", provider="ollama", model="llama3", prompt_tokens=7),
    usage_row(
        4, key_id="key_b", status=429, outcome="rate_limited", provider=None, model=None,
        prompt_tokens=None, completion_tokens=None, error_code="requests_limit_exceeded",
    ),
    usage_row(5, created_at=DAY + timedelta(days=1, hours=2), cost_usd=1.0),
    usage_row(6, created_at=DAY - timedelta(seconds=1), cost_usd=100.0),
]  # fmt: skip


async def test_a_batch_written_twice_is_counted_once(database: Database) -> None:
    await insert_records(database.engine, ROWS[:3])
    await insert_records(database.engine, ROWS)
    records = await recent_records(database.engine, None, 100)
    assert sorted(record["record_id"] for record in records) == sorted(
        row["record_id"] for row in ROWS
    )


async def test_reports_group_and_sum_within_the_period(database: Database) -> None:
    await insert_records(database.engine, ROWS)
    period = (DAY, DAY + timedelta(days=2))
    by_key, total = await usage_report(database.engine, ReportQuery("key", *period))
    assert [(r.group, r.requests, r.prompt_tokens, r.completion_tokens) for r in by_key] == [
        ("key_a", 3, 30, 15),
        ("key_b", 2, 7, 5),
    ]
    assert by_key[0].cost_usd == pytest.approx(1.75)
    assert (by_key[0].unpriced_requests, by_key[0].errors) == (0, 0)
    assert (by_key[1].cost_usd, by_key[1].unpriced_requests, by_key[1].errors) == (None, 2, 1)
    assert (total.requests, total.total_tokens, total.errors) == (5, 57, 1)
    assert total.cost_usd == pytest.approx(1.75)
    by_day, _ = await usage_report(database.engine, ReportQuery("day", *period))
    assert [(r.group, r.requests) for r in by_day] == [("2026-12-05", 4), ("2026-12-06", 1)]
    by_model, _ = await usage_report(database.engine, ReportQuery("model", *period, key_id="key_a"))
    assert [(r.group, r.requests) for r in by_model] == [("mock-1", 2), ("mock-2", 1)]
    by_provider, _ = await usage_report(database.engine, ReportQuery("provider", *period))
    groups = {r.group: r.requests for r in by_provider}
    assert groups == {None: 1, "mock": 3, "ollama": 1}


async def test_the_period_includes_its_start_and_excludes_its_end(database: Database) -> None:
    await insert_records(database.engine, ROWS)
    start, end = ROWS[0]["created_at"], ROWS[2]["created_at"]
    rows, total = await usage_report(database.engine, ReportQuery("key", start, end))
    assert total.requests == 2
    assert [r.group for r in rows] == ["key_a"]
    _, empty = await usage_report(
        database.engine, ReportQuery("day", DAY + timedelta(days=9), DAY + timedelta(days=10))
    )
    assert (empty.requests, empty.prompt_tokens, empty.cost_usd, empty.errors) == (0, 0, None, 0)


async def test_recent_records_are_newest_first_per_key(database: Database) -> None:
    await insert_records(database.engine, ROWS)
    records = await recent_records(database.engine, "key_a", 2)
    assert [r["request_id"] for r in records] == ["req_5", "req_2"]
    assert set(records[0]) == set(ROWS[0])
    assert float(records[0]["cost_usd"]) == 1.0


async def test_hostile_text_is_stored_verbatim(database: Database) -> None:
    hostile = "x'); DROP TABLE usage_records; -- ünï 😀"
    await insert_records(database.engine, [usage_row(9, model=hostile, error_code="e'\"")])
    records = await recent_records(database.engine, None, 10)
    assert (records[0]["model"], records[0]["error_code"]) == (hostile, "e'\"")


async def test_text_no_database_takes_is_fitted_never_failing_the_batch(
    database: Database,
) -> None:
    """A client names the model: too long, a NUL, a lone surrogate must not poison a batch."""
    rows = [
        usage_row(1, model="m" * 5000, alias="a\x00b"),
        usage_row(2, model="bad\ud800model", request_id="r" * 300),
    ]
    await insert_records(database.engine, rows)
    stored = {r["record_id"]: r for r in await recent_records(database.engine, None, 10)}
    first, second = stored[rows[0]["record_id"]], stored[rows[1]["record_id"]]
    assert (first["model"], first["alias"]) == ("m" * 512, "ab")
    assert second["model"] == "bad?model"
    assert second["request_id"] == "r" * 128


async def test_a_database_in_memory_keeps_writes_made_while_it_is_read() -> None:
    """One connection holds a database in memory: a read ending beside a write must not roll
    the write back (with a shared connection, 1 of 100 writes was left)."""
    database = Database("sqlite://")
    await database.start()
    reading = True

    async def read() -> None:
        while reading:
            await recent_records(database.engine, None, 5)

    readers = [asyncio.create_task(read()) for _ in range(3)]
    for number in range(100):
        await insert_records(database.engine, [usage_row(number)])
    reading = False
    await asyncio.gather(*readers)
    assert len(await recent_records(database.engine, None, 1000)) == 100
    await database.stop()
