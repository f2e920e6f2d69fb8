from __future__ import annotations

import json
import logging

import pytest

from quart_llm.config import LoggingSettings
from quart_llm.logging_setup import ConsoleFormatter, JSONFormatter, configure_logging


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
