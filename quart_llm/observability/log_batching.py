"""A log handler for the event loop: records are collected, a thread writes them in batches.

A queue handler wakes its writing thread for every record (a futex call, a thread switch and a
fight for the GIL) and the stream handler behind it writes and flushes every line: under load
(bench/) that was a few percent of every request. Here logging a record is a deque append;
the thread wakes every `interval` seconds, formats what has gathered and writes it with one
call. A line is late by at most `interval`. If the output blocks (a stalled pipe), at most
`max_pending` records wait; the rest are counted and the count is written when it clears.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TextIO

DEFAULT_INTERVAL = 0.05
DEFAULT_MAX_PENDING = 100_000


class BatchingHandler(logging.Handler):
    """Collects records on the event loop; a thread formats and writes them in batches."""

    def __init__(
        self,
        stream: TextIO,
        formatter: logging.Formatter | None = None,
        *,
        interval: float = DEFAULT_INTERVAL,
        max_pending: int = DEFAULT_MAX_PENDING,
        name: str = "quart_llm-log-writer",
    ) -> None:
        super().__init__()
        if formatter is not None:
            self.setFormatter(formatter)
        self._stream = stream
        self._interval = interval
        self._max_pending = max_pending
        self._pending: deque[logging.LogRecord] = deque()
        self._dropped = 0
        self._writing = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        if len(self._pending) >= self._max_pending:
            self._dropped += 1
            return
        # The message is merged now: its arguments may be live objects that change later.
        record.msg = record.getMessage()
        record.args = None
        self._pending.append(record)
        if self._stopping.is_set():  # no thread any more: write at once
            self.flush()

    def flush(self) -> None:
        """Write what has gathered (the thread does this every `interval` seconds). The
        handler's own lock is not held, so logging never waits for the writing."""
        with self._writing:
            self._write_pending()

    def stop(self) -> None:
        """Write everything logged so far and end the thread."""
        if not self._stopping.is_set():
            self._stopping.set()
            self._thread.join()
        self.flush()

    def close(self) -> None:
        self.stop()
        super().close()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self.flush()

    def _write_pending(self) -> None:
        lines: list[str] = []
        pending = self._pending
        while pending:
            record = pending.popleft()
            try:
                lines.append(self.format(record))
            except Exception:
                self.handleError(record)
        if self._dropped:
            lines.append(f"[log] {self._dropped} log records dropped: the output was blocked")
            self._dropped = 0
        if not lines:
            return
        try:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "writing log lines failed"}))
