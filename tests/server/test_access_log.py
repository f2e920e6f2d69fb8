from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from hypercorn.config import Config
from hypercorn.logging import AccessLogAtoms
from hypercorn.typing import ResponseSummary, WWWScope

from quart_llm.server.access_log import AccessAtoms, AccessLogger
from quart_llm.server.serving import load_hypercorn_config

KEYS = [
    *"hlrRsSmUqHbBfaTDLp",
    "st",
    "Uq",
    "t",
    "{user-agent}i",
    "{X-Request-ID}i",
    "{content-type}o",
    "{Content-Length}o",
    "{absent}i",
    "{absent}o",
    "unknown",
]


def scope(query: bytes = b"", client: Any = ("127.0.0.1", 5000)) -> WWWScope:
    return cast(
        WWWScope,
        {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/chat/completions",
            "query_string": query,
            "client": client,
            "headers": [
                (b"user-agent", b"curl/8"),
                (b"x-request-id", b"abc"),
                (b"authorization", b"Bearer secret"),
            ],
        },
    )


def summary(status: int = 200) -> ResponseSummary:
    return {
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"42")],
    }


@pytest.mark.parametrize(
    ("request_scope", "response"),
    [
        (scope(), summary()),
        (scope(b"a=1"), summary(429)),
        (scope(client=None), summary(799)),
        (scope(client=("unix",)), None),
    ],
)
def test_atoms_match_hypercorns_own(request_scope: WWWScope, response: ResponseSummary) -> None:
    ours = AccessAtoms(request_scope, response, 0.0123)
    theirs = AccessLogAtoms(request_scope, response, 0.0123)
    for key in KEYS:
        if key == "t":
            assert ours[key].startswith("[")
            continue
        assert ours[key] == theirs[key], key


def test_environment_atoms_are_never_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUART_LLM_API_KEYS", "sk-secret")
    atoms = AccessAtoms(scope(), summary(), 0.1)
    assert atoms["{QUART_LLM_API_KEYS}e"] == "-"
    hypercorn_format = "%(h)s %({quart_llm_api_keys}e)s"
    assert hypercorn_format % atoms == "127.0.0.1:5000 -"


def test_lines_are_written_by_a_thread_in_the_configured_format(tmp_path: Path) -> None:
    config = load_hypercorn_config()
    log_file = tmp_path / "access.log"
    config.accesslog = str(log_file)
    logger = config.log
    assert isinstance(logger, AccessLogger)
    for status in (200, 404):
        logger.access_logger.info(  # type: ignore[union-attr]
            config.access_log_format, logger.atoms(scope(), summary(status), 0.0015)
        )
    logger.close()
    lines = log_file.read_text().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(
        '127.0.0.1:5000 "POST /v1/chat/completions 1.1" 200 42 1500us "curl/8"'
    )
    assert " 404 42 " in lines[1]
    assert "secret" not in log_file.read_text()


def test_serving_uses_it() -> None:
    assert load_hypercorn_config().logger_class is AccessLogger
    assert Config().logger_class is not AccessLogger
