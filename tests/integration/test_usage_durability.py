"""Usage records are data: real gateway processes under load, then SIGTERM (every answered
request has its record), SIGKILL (what is lost is at most the last flush interval, and
measured), and a PostgreSQL stopped for 10 s (no client request fails, every record is in the
database after it is back: spilled to the file, then replayed)."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from quart_llm.store.database import Database
from quart_llm.store.usage_queries import recent_records
from tests.conftest import TEST_KEY
from tests.support.gateway_process import GatewayProcess
from tests.support.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]

HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}
BODY = {"model": "mock-1", "messages": [{"role": "user", "content": "Hello there"}]}
WORKERS = 6


@dataclass
class Load:
    """Clients sending whole answers until told to stop: what each request got, and when."""

    base_url: str
    answered: dict[str, float] = field(default_factory=dict)
    """Request id of each 200 → when its answer was read (monotonic)."""
    failures: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, tolerate_failures: bool) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            await asyncio.gather(*(self._worker(client, tolerate_failures) for _ in range(WORKERS)))

    async def _worker(self, client: httpx.AsyncClient, tolerate_failures: bool) -> None:
        while not self.stop.is_set():
            try:
                answer = await client.post("/v1/chat/completions", json=BODY, headers=HEADERS)
            except httpx.TransportError as exc:
                if not tolerate_failures:
                    self.failures.append(repr(exc))
                return
            if answer.status_code == 200:
                self.answered[answer.headers["X-Request-ID"]] = time.monotonic()
            elif not tolerate_failures:
                self.failures.append(f"{answer.status_code} {answer.text[:200]}")


def gateway(database_url: str, tmp_path: Path, flush_seconds: float = 1.0) -> GatewayProcess:
    settings: dict[str, Any] = {
        "database_url": database_url,
        "usage": {"flush_seconds": flush_seconds, "spill_path": str(tmp_path / "spill.jsonl")},
        "metrics": {"enabled": True, "public": True},
        "limits": {"enabled": False},
        "providers": {"mock": {"kind": "mock", "options": {"first_token_delay_seconds": 0.005}}},
    }
    process = GatewayProcess(settings)
    process.start()
    process.wait_ready()
    return process


async def stored_request_ids(database_url: str) -> set[str]:
    database = Database(database_url)
    await database.start()
    try:
        records = await recent_records(database.engine, None, 1_000_000)
    finally:
        await database.stop()
    return {record["request_id"] for record in records}


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.sqlite3'}"


async def signalled_under_load(
    process: GatewayProcess, signum: signal.Signals
) -> tuple[Load, float]:
    """Load `process` for 2.5 s, send it `signum` while the load goes on, wait for its exit:
    what the clients got, and when the signal went."""
    load = Load(process.base_url)
    running = asyncio.create_task(load.run(tolerate_failures=True))
    try:
        await asyncio.sleep(2.5)
        signalled_at = time.monotonic()
        process.signal(signum)
        assert process.process is not None
        await asyncio.to_thread(process.process.wait, 30)
    finally:
        load.stop.set()
        await running
        process.close()
    return load, signalled_at


async def test_sigterm_under_load_keeps_every_answered_request(
    sqlite_url: str, tmp_path: Path
) -> None:
    process = gateway(sqlite_url, tmp_path, flush_seconds=5.0)
    load, _ = await signalled_under_load(process, signal.SIGTERM)
    assert len(load.answered) > 50
    missing = set(load.answered) - await stored_request_ids(sqlite_url)
    assert missing == set()


async def test_sigkill_loses_at_most_the_last_flush_interval(
    sqlite_url: str, tmp_path: Path
) -> None:
    flush_seconds = 1.0
    process = gateway(sqlite_url, tmp_path, flush_seconds=flush_seconds)
    load, killed_at = await signalled_under_load(process, signal.SIGKILL)
    lost = set(load.answered) - await stored_request_ids(sqlite_url)
    ages = sorted(killed_at - load.answered[request_id] for request_id in lost)
    answered_before = sum(1 for t in load.answered.values() if t <= killed_at)
    print(
        f"SIGKILL: {len(lost)} of {answered_before} answered requests lost "
        f"(oldest {ages[-1] if ages else 0:.3f} s before the kill; flush every {flush_seconds} s)"
    )
    # One interval, plus the time its batch takes to be written on a loaded 2-core machine.
    assert all(age <= flush_seconds + 0.5 for age in ages)
    assert len(lost) < answered_before


async def test_a_database_stopped_for_ten_seconds_loses_nothing(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    process = gateway(postgres_server.url, tmp_path, flush_seconds=0.5)
    load = Load(process.base_url)
    running = asyncio.create_task(load.run(tolerate_failures=False))
    try:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(postgres_server.stop)
        down_since = time.monotonic()
        await asyncio.sleep(10.0)
        answered_while_down = sum(1 for t in load.answered.values() if t > down_since)
        await asyncio.to_thread(postgres_server.start)
        await asyncio.sleep(1.0)
    finally:
        load.stop.set()
        await running
    try:
        assert load.failures == []
        assert answered_while_down > 50
        deadline = time.monotonic() + 20
        while missing := set(load.answered) - await stored_request_ids(postgres_server.url):
            assert time.monotonic() < deadline, f"{len(missing)} records missing"
            await asyncio.sleep(0.5)
        metrics = httpx.get(f"{process.base_url}/metrics").text
        counts = {
            result: _sample(metrics, f'quart_llm_usage_records_total{{result="{result}"}}')
            for result in ("spilled", "replayed", "dropped")
        }
        # What waited in memory when the database came back went there directly: spilled is
        # most, not all, of what was answered while it was down.
        assert 0 < counts["spilled"] <= len(load.answered)
        assert counts["replayed"] == counts["spilled"]
        assert counts["dropped"] == 0
    finally:
        process.close()
    assert not (tmp_path / "spill.jsonl").read_text()


def _sample(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0
