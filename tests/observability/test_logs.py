from __future__ import annotations

import io
import json
import logging
import re
import sys
import time

import pytest
from opentelemetry.sdk.trace import TracerProvider

from quart_llm.config.models import LoggingSettings
from quart_llm.observability.log_batching import BatchingHandler
from quart_llm.observability.logs import (
    ConsoleFormatter,
    JSONFormatter,
    RequestContextFilter,
    configure_logging,
)
from quart_llm.observability.request_ids import current_request_id


def record(level: int = logging.INFO, extra: dict[str, str] | None = None) -> logging.LogRecord:
    entry = logging.LogRecord("quart_llm.chat", level, __file__, 1, "hello %s", ("x",), None)
    entry.__dict__.update(extra or {})
    return entry


def test_json_lines_follow_the_opentelemetry_log_data_model() -> None:
    line = JSONFormatter().format(
        record(extra={"quart_llm.request_id": "req_1", "gen_ai.provider.name": "mock"})
    )
    parsed = json.loads(line)
    assert parsed["body"] == "hello x"
    assert parsed["severity_text"] == "INFO"
    assert parsed["severity_number"] == 9
    assert parsed["scope"] == "quart_llm.chat"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", parsed["timestamp"])
    assert parsed["quart_llm.request_id"] == "req_1"
    assert parsed["gen_ai.provider.name"] == "mock"
    assert "\n" not in line


@pytest.mark.parametrize(
    ("level", "number"),
    [(logging.DEBUG, 5), (logging.WARNING, 13), (logging.ERROR, 17), (logging.CRITICAL, 21)],
)
def test_severity_numbers_are_opentelemetrys(level: int, number: int) -> None:
    assert json.loads(JSONFormatter().format(record(level)))["severity_number"] == number


def test_exceptions_are_written_in_the_exception_attributes() -> None:
    try:
        raise ValueError("broken\nline")
    except ValueError:
        entry = record(logging.ERROR)
        entry.exc_info = sys.exc_info()
    line = JSONFormatter().format(entry)
    parsed = json.loads(line)
    assert parsed["exception.type"] == "ValueError"
    assert parsed["exception.message"] == "broken\nline"
    assert "Traceback" in parsed["exception.stacktrace"]
    assert "\n" not in line


def test_request_context_is_added_to_every_line_of_a_request() -> None:
    tracer = TracerProvider().get_tracer("test")
    context_filter = RequestContextFilter()
    outside = record()
    context_filter.filter(outside)
    assert "quart_llm.request_id" not in outside.__dict__
    assert "trace_id" not in outside.__dict__
    token = current_request_id.set("req_7")
    try:
        with tracer.start_as_current_span("request") as span:
            inside = record()
            context_filter.filter(inside)
            named = record(extra={"quart_llm.request_id": "req_own"})
            context_filter.filter(named)
    finally:
        current_request_id.reset(token)
    context = span.get_span_context()
    assert inside.__dict__["quart_llm.request_id"] == "req_7"
    assert inside.__dict__["trace_id"] == format(context.trace_id, "032x")
    assert inside.__dict__["span_id"] == format(context.span_id, "016x")
    assert named.__dict__["quart_llm.request_id"] == "req_own"


def test_console_lines_are_readable() -> None:
    line = ConsoleFormatter().format(record(extra={"quart_llm.request_id": "req_1"}))
    assert "INFO" in line
    assert "hello x" in line
    assert "quart_llm.request_id=req_1" in line


def test_configure_sets_level_and_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("quart_llm")
    before = list(logger.handlers)
    try:
        configure_logging(LoggingSettings(level="WARNING", format="json")).stop()
        listener = configure_logging(LoggingSettings(level="WARNING", format="json"))
        marked = [h for h in logger.handlers if getattr(h, "_quart_llm_handler", False)]
        assert len(marked) == 1
        logging.getLogger("quart_llm.test").info("quiet")
        logging.getLogger("quart_llm.test").warning("loud")
        listener.stop()
        err = capsys.readouterr().err
        assert "quiet" not in err
        assert json.loads(err.strip().splitlines()[-1])["body"] == "loud"
    finally:
        for handler in list(logger.handlers):
            if handler not in before:
                logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_batches_are_written_by_the_thread_in_order_and_flushed_on_stop() -> None:
    output = io.StringIO()
    handler = BatchingHandler(output, logging.Formatter("%(message)s"), interval=0.01)
    logger = logging.getLogger("quart_llm.test.batching")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        values = {"n": 0}
        for n in range(5):
            values["n"] = n
            logger.warning("line %(n)s", values)  # merged when logged, not when written
        deadline = time.monotonic() + 2
        while output.getvalue().count("\n") < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert output.getvalue().splitlines() == [f"line {n}" for n in range(5)]
        logger.warning("last")
        handler.stop()
        assert output.getvalue().splitlines()[-1] == "last"
        logger.warning("after stop")
        assert output.getvalue().splitlines()[-1] == "after stop"
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_a_blocked_output_bounds_what_waits_and_says_what_was_dropped() -> None:
    output = io.StringIO()
    handler = BatchingHandler(output, logging.Formatter("%(message)s"), interval=60, max_pending=3)
    try:
        for n in range(5):
            handler.handle(logging.makeLogRecord({"msg": f"r{n}"}))
        handler.flush()
        assert output.getvalue().splitlines() == [
            "r0",
            "r1",
            "r2",
            "[log] 2 log records dropped: the output was blocked",
        ]
    finally:
        handler.close()
