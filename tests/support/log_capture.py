"""Log records for tests: every record of the gateway, Hypercorn and the root logger, formatted
as the gateway formats it (with tracebacks) and as plain lines, for tests that look for what
must not be logged; and the records of chosen loggers as they are (`Records`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from quart_llm.observability.logs import JSONFormatter

LOGGERS = ("", "quart_llm", "hypercorn.error", "hypercorn.access")


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self._json = JSONFormatter()
        self._plain = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] == "hpack":
            return
        self.texts.append(self._json.format(record))
        self.texts.append(self._plain.format(record))


@contextmanager
def capturing_logs() -> Iterator[Everything]:
    handler = Everything()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)


class Records(logging.Handler):
    """Keeps every record it is handed, from `level` up."""

    def __init__(self, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def records_of(*names: str, level: int = logging.DEBUG) -> Iterator[Records]:
    """The records of the named loggers while the block runs."""
    handler = Records(level)
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
