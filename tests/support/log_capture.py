"""Every log record of the gateway, Hypercorn and the root logger, formatted as the gateway
formats it (with tracebacks) and as plain lines, for tests that look for what must not be
logged."""

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
