"""The spill file: usage records kept on local disk while the database is down, as JSON
lines appended to one file, until they are replayed into the database.

Several processes of one host may share the file (replicas in one working directory), so
every append and every replay holds an exclusive `flock` on it: a replay reads what is there,
writes it to the database, then empties the file, and no append lands in between. A line
cut short by a crash mid-append is skipped (and counted) on replay. A replay reads the file a
chunk of records at a time, so a file grown over a long outage is never held in memory whole.
Everything here blocks: callers run it in a thread (`asyncio.to_thread`), never on the event
loop.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from quart_llm.services.usage_records import UsageRecord, from_json_line, to_json_line

logger = logging.getLogger("quart_llm.usage")


class SpillFile:
    """One append-only file of usage records."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, records: Iterable[UsageRecord]) -> int:
        """Append `records` and sync them to disk; how many were written."""
        text = "".join(to_json_line(record) for record in records)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        return text.count("\n")

    def has_records(self) -> bool:
        """Whether anything waits to be replayed."""
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    def replay(self, write: Callable[[list[UsageRecord]], None], chunk: int) -> tuple[int, int]:
        """Hand every record of the file to `write` (which raises when it cannot), `chunk`
        lines at a time, then empty the file; (records replayed, lines skipped as unreadable).
        On an exception the file is left as it was, to be replayed later: the chunks written
        before it are written again then, which the database takes once (a record's id is
        unique)."""
        try:
            file = self.path.open("r+", encoding="utf-8", newline="\n")
        except FileNotFoundError:
            return 0, 0
        taken = skipped = 0
        with file:
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                for records, unreadable in _chunks(file, chunk):
                    skipped += unreadable
                    if records:
                        write(records)
                        taken += len(records)
                file.truncate(0)
                file.flush()
                os.fsync(file.fileno())
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        if skipped:
            logger.error("usage spill file %s: %d unreadable line(s) dropped", self.path, skipped)
        return taken, skipped


def _chunks(file: TextIO, size: int) -> Iterator[tuple[list[UsageRecord], int]]:
    """The file's records, `size` lines at a time, each with how many of its lines were
    unreadable (a line cut short by a crash, say)."""
    records: list[UsageRecord] = []
    lines = skipped = 0
    for line in file:
        if line.strip():
            try:
                records.append(from_json_line(line))
            except (ValueError, KeyError, TypeError):
                skipped += 1
        lines += 1
        if lines == size:
            yield records, skipped
            records, lines, skipped = [], 0, 0
    if lines:
        yield records, skipped
