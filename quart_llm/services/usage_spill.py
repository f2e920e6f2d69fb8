"""The spill file: usage records kept on local disk while the database is down, as JSON
lines appended to one file, until they are replayed into the database.

Several processes of one host may share the file (replicas in one working directory), so
every append and every replay holds an exclusive `flock` on it: a replay reads what is there,
writes it to the database, then empties the file, and no append lands in between. A line
cut short by a crash mid-append is skipped (and counted) on replay. Everything here blocks:
callers run it in a thread (`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

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

    def replay(self, write: Callable[[list[UsageRecord]], None]) -> tuple[int, int]:
        """Hand every record of the file to `write` (which raises when it cannot), then empty
        the file; (records replayed, lines skipped as unreadable). On an exception the file
        is left as it was, to be replayed later."""
        try:
            file = self.path.open("r+", encoding="utf-8")
        except FileNotFoundError:
            return 0, 0
        with file:
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                records, skipped = _parse(file.read())
                if records:
                    write(records)
                file.truncate(0)
                file.flush()
                os.fsync(file.fileno())
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        if skipped:
            logger.error("usage spill file %s: %d unreadable line(s) dropped", self.path, skipped)
        return len(records), skipped


def _parse(text: str) -> tuple[list[UsageRecord], int]:
    records: list[UsageRecord] = []
    skipped = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(from_json_line(line))
        except (ValueError, KeyError, TypeError):
            skipped += 1
    return records, skipped
