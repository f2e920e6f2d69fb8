"""Log output: one JSON object per line in production, readable lines in development.

Configured when serving starts, on the `quart_llm` logger only, so importing the package or
building an app in a test never rewires the host application's logging.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

from quart_llm.config.models import LoggingSettings
from quart_llm.observability.log_batching import BatchingHandler

_HANDLER_MARK = "_quart_llm_handler"
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JSONFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class ConsoleFormatter(logging.Formatter):
    """A readable line per record, with the extras as `key=value`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(extras)s")

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_") and key != "extras"
        }
        record.extras = "".join(f" {key}={value}" for key, value in extras.items())
        return super().format(record)


QUIET_LOGGERS = ("hpack", "h2")
"""Their DEBUG output includes every decoded header, Authorization among them."""


def configure_logging(settings: LoggingSettings) -> BatchingHandler:
    """Log through a batching handler: the event loop only appends a record, a thread formats
    and writes the batch, so a slow stderr never stalls streams. Stop the returned handler to
    flush."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logger = logging.getLogger("quart_llm")
    logger.setLevel(settings.level)
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
            handler.close()
    output = BatchingHandler(
        sys.stderr, JSONFormatter() if settings.format == "json" else ConsoleFormatter()
    )
    setattr(output, _HANDLER_MARK, True)
    logger.addHandler(output)
    return output
