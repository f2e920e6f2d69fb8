"""Stock Schemathesis against the committed OpenAPI 3.2 document and a real server on 127.0.0.1.

Bounded and deterministic: a fixed seed, derandomized generation, at most `MAX_EXAMPLES`
generated cases per operation and phase, the mock provider only. Request quotas are raised so
a run never meets a 429 it did not provoke. Half the generated chat bodies are made answerable
(the mock's `mock-1`, one user message, fields the mock refuses dropped), so whole and streamed
200s are generated too; `test_answers_conform_to_the_document` makes sure of each kind, for
chat, for the Messages and Responses APIs and for embeddings.

Only Schemathesis's own checks run. Event streams are checked by `response_schema_conformance`
itself: each parsed event against the response's `itemSchema`, its `data` parsed as JSON
(`contentMediaType`) and validated against the `contentSchema` of the chunk or the error, or
equal to the `[DONE]` terminator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from quart_llm.providers.mock import MockProvider
from tests.conftest import AUTH
from tests.support.live_server import LiveServer, running_gateway
from tests.support.sse_reader import parse_sse

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
SSE = "text/event-stream"
MAX_EXAMPLES = 30
SEED = 20_240_601
OVERRIDES = {
    "limits": {"default": {"requests": [{"count": 1_000_000, "period_seconds": 60}]}},
}

ADMIN = {"Authorization": "Bearer test-admin-key"}
"""The admin API's routes are called with the testing admin key."""
USER = [{"role": "user", "content": "Hello there"}]
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _media_type(response: schemathesis.Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip()


schema = schemathesis.openapi.from_path(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": AUTH,
            "request-timeout": 10,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    operation = context.operation
    if isinstance(body, dict) and operation is not None and operation.path == "/v1/embeddings":
        return st.sampled_from([body, {"model": "mock-1", "input": body.get("input", "Hi")}])
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return st.just(body)
    answerable = {
        name: value
        for name, value in body.items()
        if name not in MockProvider.unsupported_fields and name != "provider"
    }
    answerable.update(model="mock-1", messages=USER)
    return st.sampled_from([body, answerable])


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with running_gateway(OVERRIDES) as live:
        yield live


fuzzed = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
"""Bounded and deterministic generation, for every operation."""


@schema.exclude(tag="admin").parametrize()
@fuzzed
def test_api_conforms_to_its_document(case: Case[Any], server: LiveServer) -> None:
    headers = ADMIN if case.path.startswith("/admin/") else AUTH
    case.call_and_validate(base_url=server.base_url, headers=headers, checks=CHECKS, timeout=10)


ADMIN = {"Authorization": "Bearer test-admin-key"}


@schema.include(tag="admin").parametrize()
@fuzzed
def test_admin_api_conforms_to_its_document(case: Case[Any], server: LiveServer) -> None:
    """The admin API with an admin key: whatever is generated, a documented answer (never a
    500), keys created from generated bodies included."""
    case.call_and_validate(base_url=server.base_url, headers=ADMIN, checks=CHECKS, timeout=10)


CHAT_ANSWERS: dict[str, tuple[str, dict[str, Any], int, str]] = {
    "whole": ("/v1/chat/completions", {}, 200, "application/json"),
    "streamed": ("/v1/chat/completions", {"stream": True}, 200, "text/event-stream"),
    "streamed-with-usage": (
        "/v1/chat/completions",
        {"stream": True, "stream_options": {"include_usage": True}},
        200,
        "text/event-stream",
    ),
    "stream-route": ("/v1/chat/stream", {}, 200, "text/event-stream"),
    "fails-before-the-stream": (
        "/v1/chat/stream",
        {"model": "mock-fail-early"},
        503,
        "application/json",
    ),
    "fails-midway": ("/v1/chat/stream", {"model": "mock-fail-midway"}, 200, "text/event-stream"),
    "streamed-fails-midway": (
        "/v1/chat/completions",
        {"model": "mock-fail-midway", "stream": True},
        200,
        "text/event-stream",
    ),
    "streamed-cut-at-the-output-limit": (
        "/v1/chat/completions",
        {"stream": True, "max_tokens": 2},
        200,
        "text/event-stream",
    ),
    "unknown-model": ("/v1/chat/completions", {"model": "mock/none"}, 404, "application/json"),
    "unknown-provider": ("/v1/chat/completions", {"provider": "none"}, 400, "application/json"),
}


TRANSLATED_ANSWERS: dict[str, tuple[str, dict[str, Any], int, str]] = {
    "message": ("/v1/messages", {}, 200, "application/json"),
    "message-streamed": ("/v1/messages", {"stream": True}, 200, "text/event-stream"),
    "message-fails-midway": (
        "/v1/messages",
        {"stream": True, "model": "mock-fail-midway"},
        200,
        "text/event-stream",
    ),
    "message-fails-early": ("/v1/messages", {"model": "mock-fail-early"}, 529, "application/json"),
    "message-unknown-model": ("/v1/messages", {"model": "mock/none"}, 404, "application/json"),
    "response": ("/v1/responses", {}, 200, "application/json"),
    "response-streamed": ("/v1/responses", {"stream": True}, 200, "text/event-stream"),
    "response-cut": (
        "/v1/responses",
        {"stream": True, "max_output_tokens": 2},
        200,
        "text/event-stream",
    ),
    "response-fails-midway": (
        "/v1/responses",
        {"stream": True, "model": "mock-fail-midway"},
        200,
        "text/event-stream",
    ),
    "response-stored": ("/v1/responses", {"store": True}, 400, "application/json"),
}
EMBEDDINGS_ANSWERS: dict[str, tuple[str, dict[str, Any], int, str]] = {
    "embeddings": ("/v1/embeddings", {}, 200, "application/json"),
    "embeddings-base64": ("/v1/embeddings", {"encoding_format": "base64"}, 200, "application/json"),
    "embeddings-tokens": ("/v1/embeddings", {"input": [[1, 2], [3]]}, 200, "application/json"),
    "embeddings-fail-early": (
        "/v1/embeddings",
        {"model": "mock-fail-early"},
        503,
        "application/json",
    ),
    "embeddings-unknown-model": ("/v1/embeddings", {"model": "mock/none"}, 404, "application/json"),
}
ANSWERS = {**CHAT_ANSWERS, **TRANSLATED_ANSWERS, **EMBEDDINGS_ANSWERS}


def answer_body(path: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A body for `path` that the mock answers, with `fields` on top."""
    if path in ("/v1/responses", "/v1/embeddings"):
        return {"model": "mock-1", "input": "Hello there", **fields}
    body: dict[str, Any] = {"model": "mock-1", "messages": USER, **fields}
    if path == "/v1/messages":
        body.setdefault("max_tokens", 64)
    return body


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_answers_conform_to_the_document(name: str, server: LiveServer) -> None:
    path, fields, status, media_type = ANSWERS[name]
    case = schema[path]["POST"].Case(body=answer_body(path, fields), media_type="application/json")
    checks = CHECKS if status < 500 else CHECKS[1:]
    response = case.call_and_validate(
        base_url=server.base_url, headers=AUTH, checks=checks, timeout=10
    )
    assert response.status_code == status
    assert _media_type(response) == media_type
    if media_type == SSE and path.startswith("/v1/chat/"):
        parsed = parse_sse(response.text)
        failed = name.endswith("fails-midway")
        assert parsed.done is not failed
        assert len(parsed.errors) == failed
        assert parsed.chunks
        finishes = {c["finish_reason"] for chunk in parsed.chunks for c in chunk.get("choices", [])}
        assert ("length" in finishes) is name.endswith("cut-at-the-output-limit")


CHUNK = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "mock-1",
    "provider": "mock",
    "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
}
ERROR = {"error": {"message": "failed", "type": "server_error", "param": None, "code": "x"}}
BROKEN_STREAMS = {
    "a chunk of the wrong shape": [json.dumps({**CHUNK, "choices": "Hi"}), "[DONE]"],
    "an unknown terminator": [json.dumps(CHUNK), "[END]"],
    "data that is not JSON": [json.dumps(CHUNK)[:-1]],
    "an error of the wrong shape": [json.dumps(CHUNK), json.dumps({"error": "failed"})],
}


def replayed(path: str, events: list[str]) -> schemathesis.Response:
    """A recorded 200 event stream, as if `path` had answered with these `data:` values."""
    body = "".join(f"data: {event}\n\n: keep-alive\n\n" for event in events)
    request = requests.Request("POST", f"http://127.0.0.1{path}").prepare()
    headers = {"content-type": [f"{SSE}; charset=utf-8"]}
    return schemathesis.Response(200, headers, body.encode(), request, 0.0, True)


def violations(case: Case[Any], response: schemathesis.Response) -> str:
    """What stock `response_schema_conformance` finds wrong with a response ("" for nothing)."""
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except FailureGroup as failures:
        return str(failures)
    return ""


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/chat/stream"])
def test_the_stock_check_reads_every_event_of_a_stream(path: str) -> None:
    body: dict[str, Any] = {"model": "mock-1", "messages": USER}
    case = schema[path]["POST"].Case(body=body, media_type="application/json")
    for events in ([json.dumps(CHUNK), "[DONE]"], [json.dumps(CHUNK), json.dumps(ERROR)]):
        assert violations(case, replayed(path, events)) == ""
    for flaw, events in BROKEN_STREAMS.items():
        found = violations(case, replayed(path, events))
        assert "SSE event violates schema" in found, f"a stream with {flaw} passed"
