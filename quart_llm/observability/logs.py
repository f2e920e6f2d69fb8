"""Log output: one JSON object per line in production, readable lines in development.

A JSON line follows the OpenTelemetry Logs Data Model: its top-level fields in snake_case
(`timestamp`, `severity_text`, `severity_number`, `body`, `scope`, `event_name`, `trace_id`,
`span_id`) and its attributes beside them, flat, under their semantic-convention names
(`http.route`, `gen_ai.usage.input_tokens`, `exception.type`), the gateway's own under
`quart_llm.`. Every line logged while a request is served carries its `quart_llm.request_id`,
and its `trace_id` and `span_id` when it is traced (`RequestContextFilter`).

Configured when serving starts, on the `quart_llm` logger only, so importing the package or
building an app in a test never rewires the host application's logging.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson
from opentelemetry import trace

from quart_llm.config.models import LoggingSettings
from quart_llm.observability.log_batching import BatchingHandler
from quart_llm.observability.request_ids import current_request_id

_HANDLER_MARK = "_quart_llm_handler"
_STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


SEVERITY_NUMBERS = {"DEBUG": 5, "INFO": 9, "WARNING": 13, "ERROR": 17, "CRITICAL": 21}
"""Python's levels on the OpenTelemetry severity scale (DEBUG, INFO, WARN, ERROR, FATAL)."""


class JSONFormatter(logging.Formatter):
    """One JSON object per record, in the OpenTelemetry Logs Data Model's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "severity_text": record.levelname,
            "severity_number": SEVERITY_NUMBERS.get(record.levelname, 9),
            "body": record.getMessage(),
            "scope": record.name,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception.type"] = record.exc_info[0].__qualname__
            entry["exception.message"] = str(record.exc_info[1])
            entry["exception.stacktrace"] = self.formatException(record.exc_info)
        line = orjson.dumps(entry, default=str).decode()
        # JSON escapes C0 controls; C1 controls and U+2028/9, which some viewers take for line
        # breaks or terminal commands, are written as \\u escapes too.
        return line if line.isascii() else line.translate(_JSON_ESCAPES)


class RequestContextFilter(logging.Filter):
    """Adds the request id, and the current span's trace and span ids, to every record
    logged while a request is served (a record that names its own keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        if "quart_llm.request_id" not in fields:
            request_id = current_request_id.get()
            if request_id is not None:
                fields["quart_llm.request_id"] = request_id
        if "trace_id" not in fields:
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                fields["trace_id"] = format(context.trace_id, "032x")
                fields["span_id"] = format(context.span_id, "016x")
        return True


class ConsoleFormatter(logging.Formatter):
    """A readable line per record, with the extras as `key=value`.

    The message and every extra are escaped (control characters, line breaks, backslashes),
    so a value a client chose, a path with `%0a` in it, cannot start a line of its own or
    drive the terminal; only a traceback spans lines.
    """

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(extras)s")

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_") and key != "extras"
        }
        shown = logging.makeLogRecord(record.__dict__)  # other handlers see the record as it was
        shown.msg, shown.args = escape(record.getMessage()), None
        shown.extras = "".join(f" {key}={escape(str(value))}" for key, value in extras.items())
        return super().format(shown)


_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_ESCAPES.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


_JSON_ESCAPES = {code: f"\\u{code:04x}" for code in (*range(0x7F, 0xA0), 0x2028, 0x2029)}


def escape(text: str) -> str:
    """`text` on one line: control characters (C0, C1, DEL), line separators and backslashes
    written as escapes."""
    return text.translate(_ESCAPES)


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
    output.addFilter(RequestContextFilter())
    setattr(output, _HANDLER_MARK, True)
    logger.addHandler(output)
    return output
