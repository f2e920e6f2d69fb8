"""The usage recorder on real databases: batches written by size and by time, what is left
written on stop, a full buffer counted as dropped, a PostgreSQL that stops and starts again
(records spilled to the file, then replayed, none lost), and the spill file's own rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from quart_llm.config.accounting_models import UsageSettings
from quart_llm.lib.random_ids import RandomIds
from quart_llm.observability.labels import ModelLabels
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.observability.request_record import RequestRecord
from quart_llm.providers.answers import TokenUsage
from quart_llm.services import usage_recorder
from quart_llm.services.usage_recorder import UsageRecorder
from quart_llm.services.usage_records import UsageRecord, usage_record_of, with_datetime
from quart_llm.services.usage_spill import SpillFile
from quart_llm.store.database import Database
from quart_llm.store.usage_queries import insert_records, recent_records
from tests.support.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]


def finished_request(number: int, key_id: str = "key_a") -> RequestRecord:
    record = RequestRecord(
        request_id=f"req_{number}", method="POST", route="/v1/chat/completions",
        started=time.perf_counter(), key_id=key_id, provider="mock", model="mock-1",
        requested_model="fast", status=200, usage=TokenUsage(3, 4, estimated=True),
    )  # fmt: skip
    record.finished = True
    return record


def usage_record(number: int) -> UsageRecord:
    """The record the recorder would write for request `number`."""
    return with_datetime(usage_record_of(finished_request(number), RandomIds(), (), 0.01))


class Harness:
    def __init__(self, database: Database, spill: Path, **settings: object) -> None:
        self.metrics = GatewayMetrics(ModelLabels({}))
        self.database = database
        usage = UsageSettings.model_validate({"spill_path": str(spill), **settings})
        self.recorder = UsageRecorder(
            usage, database, self.metrics.usage_records.labels, RandomIds(), {"fast"}
        )

    def counted(self, result: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "quart_llm_usage_records_total", {"result": result}
        )
        return value or 0.0

    async def stored(self) -> list[str]:
        records = await recent_records(self.database.engine, None, 1000)
        return sorted(record["request_id"] for record in records)


async def eventually(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'usage.sqlite3'}")
    await database.start()
    yield database
    await database.stop()


async def test_a_full_batch_is_written_at_once_and_the_rest_on_stop(
    sqlite_database: Database, tmp_path: Path
) -> None:
    harness = Harness(sqlite_database, tmp_path / "spill.jsonl", flush_seconds=60, batch_size=3)
    await harness.recorder.start()
    for number in range(3):
        harness.recorder.add(finished_request(number))
    await eventually(lambda: harness.counted("written") == 3)
    harness.recorder.add(finished_request(3))
    await asyncio.sleep(0.2)
    assert (harness.recorder.waiting, harness.counted("written")) == (1, 3)
    await harness.recorder.stop()
    assert harness.counted("written") == 4
    assert await harness.stored() == [f"req_{n}" for n in range(4)]
    record = (await recent_records(sqlite_database.engine, None, 1))[0]
    assert (record["alias"], record["prompt_tokens"], record["tokens_estimated"]) == (
        "fast", 3, True,
    )  # fmt: skip


async def test_records_are_written_every_flush_interval(
    sqlite_database: Database, tmp_path: Path
) -> None:
    harness = Harness(sqlite_database, tmp_path / "spill.jsonl", flush_seconds=0.1)
    await harness.recorder.start()
    harness.recorder.add(finished_request(1))
    await eventually(lambda: harness.counted("written") == 1)
    await harness.recorder.stop()


async def test_a_full_buffer_drops_and_counts(sqlite_database: Database, tmp_path: Path) -> None:
    harness = Harness(sqlite_database, tmp_path / "spill.jsonl", buffer_records=2)
    for number in range(5):
        harness.recorder.add(finished_request(number))
    assert harness.counted("dropped") == 3
    await harness.recorder.start()
    await harness.recorder.stop()
    assert await harness.stored() == ["req_0", "req_1"]


@pytest.fixture
async def stoppable_database(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    """A started database on a PostgreSQL server of this test's own, which it may stop."""
    database = Database(postgres_server.url)
    await database.start()
    yield database
    await database.stop()


async def test_a_stopped_database_spills_and_replays_when_back(
    postgres_server: PostgresServer, stoppable_database: Database, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    harness = Harness(stoppable_database, spill, flush_seconds=0.05, write_timeout_seconds=2)
    await harness.recorder.start()
    try:
        harness.recorder.add(finished_request(0))
        await eventually(lambda: harness.counted("written") == 1)
        await asyncio.to_thread(postgres_server.stop)
        for number in range(1, 21):
            harness.recorder.add(finished_request(number))
        await eventually(lambda: harness.counted("spilled") == 20)
        assert len(spill.read_text().splitlines()) == 20
        await asyncio.to_thread(postgres_server.start)
        harness.recorder.add(finished_request(21))
        await eventually(lambda: harness.counted("replayed") == 20, timeout=20)
    finally:
        await harness.recorder.stop()
    assert await harness.stored() == sorted(f"req_{n}" for n in range(22))
    assert harness.counted("dropped") == 0
    assert spill.read_text() == ""


async def test_stop_spills_when_the_database_is_down(
    postgres_server: PostgresServer, stoppable_database: Database, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    harness = Harness(stoppable_database, spill, flush_seconds=60, write_timeout_seconds=2)
    await harness.recorder.start()
    await asyncio.to_thread(postgres_server.stop)
    for number in range(5):
        harness.recorder.add(finished_request(number))
    await harness.recorder.stop()
    assert harness.counted("spilled") == 5
    await stoppable_database.stop()
    await asyncio.to_thread(postgres_server.start)
    database = Database(postgres_server.url)
    await database.start()
    replaying = Harness(database, spill)
    await replaying.recorder.start()  # what a previous process left is replayed at start
    assert replaying.counted("replayed") == 5
    assert await replaying.stored() == [f"req_{n}" for n in range(5)]
    await replaying.recorder.stop()
    await database.stop()


def test_the_spill_file_skips_a_line_cut_short_and_empties_on_replay(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    records = [usage_record(1), usage_record(2)]
    assert spill.append(records) == 2
    with spill.path.open("a") as file:
        file.write('{"record_id": "cut')
    taken: list[list[dict[str, object]]] = []
    assert spill.replay(taken.append, chunk=500) == (2, 1)
    assert [r["request_id"] for r in taken[0]] == ["req_1", "req_2"]
    assert taken[0][0]["created_at"] == records[0]["created_at"]
    assert not spill.has_records()


def test_a_failed_replay_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([usage_record(1)])
    before = spill.path.read_text()

    def refuse(_: object) -> None:
        raise ConnectionError("database down")

    with pytest.raises(ConnectionError):
        spill.replay(refuse, chunk=500)
    assert spill.path.read_text() == before


def test_a_replay_hands_the_file_over_a_chunk_at_a_time(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([usage_record(n) for n in range(25)])
    taken: list[list[dict[str, object]]] = []
    assert spill.replay(taken.append, chunk=10) == (25, 0)
    assert [len(records) for records in taken] == [10, 10, 5]
    assert [r["request_id"] for records in taken for r in records] == [
        f"req_{n}" for n in range(25)
    ]
    assert not spill.has_records()


def test_a_replay_failing_midway_keeps_every_line(tmp_path: Path) -> None:
    """The chunks written before the failure are written again on the next replay; the
    database keeps a record once (its `record_id` is unique)."""
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([usage_record(n) for n in range(25)])
    before = spill.path.read_text()
    written: list[int] = []

    def fail_second(records: list[dict[str, object]]) -> None:
        if written:
            raise ConnectionError("database down")
        written.append(len(records))

    with pytest.raises(ConnectionError):
        spill.replay(fail_second, chunk=10)
    assert written == [10]
    assert spill.path.read_text() == before


async def test_a_database_in_memory_never_takes_the_spill_file(tmp_path: Path) -> None:
    """A test app (or `sqlite://`) beside a real spill file leaves it for a real database."""
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([usage_record(1)])
    database = Database("sqlite://")
    await database.start()
    harness = Harness(database, spill.path, flush_seconds=0.05)
    await harness.recorder.start()
    harness.recorder.add(finished_request(2))
    await eventually(lambda: harness.counted("written") == 1)
    await harness.recorder.stop()
    await database.stop()
    assert harness.counted("replayed") == 0
    assert spill.has_records()


async def test_a_record_the_database_refuses_is_dropped_not_replayed_forever(
    stoppable_database: Database, tmp_path: Path
) -> None:
    """A spill line the database refuses for what it holds (edited by hand here: a status that
    is no number) is dropped and counted; the good records of its batch are stored."""
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([usage_record(1), usage_record(2) | {"status": "not a number"}, usage_record(3)])
    harness = Harness(stoppable_database, spill.path)
    await harness.recorder.start()
    await harness.recorder.stop()
    assert await harness.stored() == ["req_1", "req_3"]
    assert (harness.counted("replayed"), harness.counted("dropped")) == (2, 1)
    assert not spill.has_records()


async def test_a_slow_write_to_a_database_in_memory_is_never_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database in memory lives in its one connection: a write cancelled by the timeout
    (a busy loop makes a write slow) would get it invalidated and the database lost. So the
    write there is waited for, however long, and the record is stored, not spilled."""

    async def slow_insert(*args: Any) -> None:
        await asyncio.sleep(0.3)
        await insert_records(*args)

    monkeypatch.setattr(usage_recorder, "insert_records", slow_insert)
    database = Database("sqlite://")
    await database.start()
    spill = tmp_path / "spill.jsonl"
    harness = Harness(database, spill, flush_seconds=0.05, write_timeout_seconds=0.05)
    await harness.recorder.start()
    try:
        harness.recorder.add(finished_request(1))
        await eventually(lambda: harness.counted("written") == 1)
        assert await harness.stored() == ["req_1"]
    finally:
        await harness.recorder.stop()
        await database.stop()
    assert harness.counted("spilled") == 0
    assert not spill.exists() or spill.read_text() == ""
