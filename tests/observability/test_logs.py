from __future__ import annotations

import io
import json
import logging
import time

import pytest

from quart_llm.config.models import LoggingSettings
from quart_llm.observability.log_batching import BatchingHandler
from quart_llm.observability.logs import ConsoleFormatter, JSONFormatter, configure_logging


def record(**extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("quart_llm.chat", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    for key, value in extra.items():
        setattr(entry, key, value)
    return entry


def test_json_lines_carry_extras() -> None:
    line = JSONFormatter().format(record(request_id="req_1", provider="mock"))
    parsed = json.loads(line)
    assert parsed["message"] == "hello x"
    assert parsed["level"] == "info"
    assert parsed["request_id"] == "req_1"
    assert parsed["provider"] == "mock"
    assert "\n" not in line


def test_console_lines_are_readable() -> None:
    line = ConsoleFormatter().format(record(request_id="req_1"))
    assert "INFO" in line
    assert "hello x" in line
    assert "request_id=req_1" in line


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
        assert json.loads(err.strip().splitlines()[-1])["message"] == "loud"
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
