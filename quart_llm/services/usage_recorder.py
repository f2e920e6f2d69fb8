"""Usage records on their way to the database: taken on the request path without waiting,
written in batches by one background task.

- `add()` only appends to a bounded in-memory buffer (a full buffer drops the record,
  counted and logged): the request path never awaits the database, nor the disk.
- The writer task wakes every `usage.flush_seconds`, or as soon as `usage.batch_size`
  records wait, and inserts them in batches (idempotent on `record_id`).
- A batch the database refuses or does not take within `usage.write_timeout_seconds` goes to
  the spill file (`services.usage_spill`), synced to disk; once a write succeeds again, the
  spill file is replayed. The file is also replayed at start: what a previous process left.
- `stop()` (serving stops: SIGTERM, draining) writes whatever is left, spilling it when the
  database is down, before the database is closed.

So a crash (SIGKILL) loses at most what waited in memory: one flush interval of records.
Every record ends counted in `quart_llm_usage_records_total` by result: `written`, `spilled`,
`replayed` or `dropped`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Collection
from pathlib import Path

from prometheus_client import Counter

from quart_llm.config.accounting_models import UsageSettings
from quart_llm.config.paths import DATA_PATH
from quart_llm.lib.random_ids import RandomIds
from quart_llm.observability.request_record import RequestRecord
from quart_llm.services.usage_records import UsageRecord, usage_record_of, with_datetime
from quart_llm.services.usage_spill import SpillFile
from quart_llm.store.database import Database, is_in_memory
from quart_llm.store.usage_queries import database_answers, insert_records

logger = logging.getLogger("quart_llm.usage")
DEFAULT_SPILL_PATH = DATA_PATH / "usage_spill.jsonl"
_DROP_LOG_SECONDS = 10.0


class UsageRecorder:
    """The usage records of one app, from request to database."""

    def __init__(
        self,
        settings: UsageSettings,
        database: Database,
        counted: Callable[[str], Counter],
        ids: RandomIds,
        aliases: Collection[str],
    ) -> None:
        self.settings = settings
        self.database = database
        self.spill = SpillFile(
            Path(settings.spill_path) if settings.spill_path else DEFAULT_SPILL_PATH
        )
        self._counted = counted
        self._ids = ids
        self._aliases = frozenset(aliases)
        in_memory = is_in_memory(database.url)
        self._replays = not in_memory
        """A database in memory keeps nothing: a spill file is never emptied into it."""
        self._write_timeout = None if in_memory else settings.write_timeout_seconds
        """A database in memory cannot hang on I/O, and it lives in its one connection: a write
        cancelled by a timeout (a busy event loop) would get the connection invalidated and the
        database lost with it."""
        self._buffer: deque[UsageRecord] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._database_down = False
        self._dropped_since_log = 0
        self._last_drop_log = 0.0

    def add(self, record: RequestRecord) -> None:
        """Take the record of a request finished just now (never blocks)."""
        if len(self._buffer) >= self.settings.buffer_records:
            self._dropped(1)
            return
        duration = time.perf_counter() - record.started
        self._buffer.append(usage_record_of(record, self._ids, self._aliases, duration))
        if len(self._buffer) >= self.settings.batch_size:
            self._wake.set()

    @property
    def waiting(self) -> int:
        """Records in memory, not yet written or spilled."""
        return len(self._buffer)

    async def start(self) -> None:
        """Replay what a previous process spilled, then start writing."""
        if self._replays:
            await self._replay()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-recorder")

    async def stop(self) -> None:
        """Write (or spill) every record left, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.settings.flush_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            stopping = self._stopping
            try:
                await self.flush()
            except Exception:  # the writer must outlive any surprise; its records are counted
                logger.exception("usage records: flush failed")
            if stopping:
                return

    async def flush(self) -> None:
        """Write every waiting record, a batch at a time; replay the spill file when the
        database answers again. Once a batch fails, the rest of this flush is spilled without
        asking the database again: a database that hangs costs one timeout per flush."""
        failed = False
        while self._buffer:
            batch = [
                with_datetime(self._buffer.popleft())
                for _ in range(min(len(self._buffer), self.settings.batch_size))
            ]
            if not failed and await self._write(batch):
                self._counted("written").inc(len(batch))
                continue
            failed = True
            await self._spill(batch)
        if self._replays and not self._database_down and self.spill.has_records():
            await self._replay()

    async def _write(self, batch: list[UsageRecord]) -> bool:
        try:
            async with asyncio.timeout(self._write_timeout):
                await insert_records(self.database.engine, batch)
        except Exception as exc:  # any failure of the database: the batch is spilled
            if not self._database_down:
                logger.error(
                    "usage records: the database refused a batch (%s); spilling to %s",
                    type(exc).__name__,
                    self.spill.path,
                )
            self._database_down = True
            return False
        if self._database_down:
            logger.warning("usage records: the database is back")
        self._database_down = False
        return True

    async def _spill(self, batch: list[UsageRecord]) -> None:
        try:
            written = await asyncio.to_thread(self.spill.append, batch)
        except OSError as exc:
            logger.error("usage records: spill file %s failed (%s)", self.spill.path, exc)
            self._dropped(len(batch))
            return
        self._counted("spilled").inc(written)

    async def _replay(self) -> None:
        """Move the spill file's records into the database (left in the file on failure)."""
        if not self.spill.has_records():
            return
        loop = asyncio.get_running_loop()
        timeout = self.settings.write_timeout_seconds * 4
        refused: list[int] = []

        def write(batch: list[UsageRecord]) -> None:
            future = asyncio.run_coroutine_threadsafe(self._replay_batch(batch), loop)
            refused.append(future.result(timeout))

        try:
            batch_size = self.settings.batch_size  # the file is read a batch of lines at a time
            taken, skipped = await asyncio.to_thread(self.spill.replay, write, batch_size)
        except Exception as exc:  # the database failed again: the file waits for the next try
            logger.warning("usage records: replay failed (%s); will retry", type(exc).__name__)
            self._database_down = True
            return
        self._counted("replayed").inc(taken - sum(refused))
        if skipped or sum(refused):
            self._dropped(skipped + sum(refused))
        if taken:
            logger.info("usage records: %d replayed from %s", taken - sum(refused), self.spill.path)

    async def _replay_batch(self, batch: list[UsageRecord]) -> int:
        """Insert a batch of the spill file; how many of its records the database refused for
        what they hold. A batch that fails while the database answers is tried again record by
        record, and a record still refused is dropped (counted, logged): one bad line must not
        hold the whole file back forever. A database that does not answer fails the replay."""
        engine = self.database.engine
        try:
            await insert_records(engine, batch)
            return 0
        except Exception:
            if not await database_answers(engine):
                raise
        refused = 0
        for record in batch:
            try:
                await insert_records(engine, [record])
            except Exception as exc:
                if not await database_answers(engine):
                    raise
                logger.error(
                    "usage records: record %s refused by the database (%s); dropped",
                    record.get("record_id"),
                    type(exc).__name__,
                )
                refused += 1
        return refused

    def _dropped(self, count: int) -> None:
        self._counted("dropped").inc(count)
        self._dropped_since_log += count
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_SECONDS:
            logger.error(
                "usage records: %d dropped (buffer full, spill failed or refused)",
                self._dropped_since_log,
            )
            self._dropped_since_log, self._last_drop_log = 0, now
