"""Schemathesis against the committed API document and a real server on 127.0.0.1.

Bounded and deterministic: a fixed seed, derandomized generation, at most `MAX_EXAMPLES`
generated cases per operation and phase, the mock provider only. Request quotas are raised so
a run never meets a 429 it did not provoke. Half the generated chat bodies are pointed at the
mock's `mock-1` (fields the mock refuses dropped), so whole and streamed 200s are checked too.

Event streams: Schemathesis applies a `text/event-stream` schema to each parsed event, while
the document's `{"type": "string"}` describes the whole body, so their bodies are checked here
instead: every `data:` is a `ChatCompletionChunk` (the `x-event-schema`), an error envelope
last, or a final `[DONE]`. A 415 for a request sent without a body is not documented yet.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import CheckContext, CheckFunction, not_a_server_error
from schemathesis.core import NotSet
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


def status_code_documented(
    ctx: CheckContext, response: schemathesis.Response, case: Case[Any]
) -> bool | None:
    if response.status_code == 415 and isinstance(case.body, NotSet):
        return None
    return status_code_conformance(ctx, response, case)


def _media_type(response: schemathesis.Response) -> str:
    values = response.headers.get("content-type") or [""]
    return values[0].split(";")[0].strip()


@functools.cache
def event_validators(reference: str) -> tuple[jsonschema_rs.Validator, jsonschema_rs.Validator]:
    components = {"components": json.loads(SPEC.read_text())["components"]}
    chunk = jsonschema_rs.validator_for({**components, "$ref": reference})
    error = jsonschema_rs.validator_for(
        {
            **components,
            "type": "object",
            "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
            "required": ["error"],
            "additionalProperties": False,
        }
    )
    return chunk, error


def body_conformance(
    ctx: CheckContext, response: schemathesis.Response, case: Case[Any]
) -> bool | None:
    if _media_type(response) != SSE:
        return response_schema_conformance(ctx, response, case)
    responses = case.operation.definition.raw["responses"]
    reference = responses[str(response.status_code)]["content"][SSE]["x-event-schema"]["$ref"]
    chunk, error = event_validators(reference)
    events = parse_sse(response.text).events
    assert events, "an event stream without events"
    for position, event in enumerate(events):
        last = position == len(events) - 1
        if event == "[DONE]":
            assert last, "[DONE] before the end of the stream"
            continue
        payload = json.loads(event)
        if "error" in payload:
            assert last, "an error event before the end of the stream"
            error.validate(payload)
        else:
            chunk.validate(payload)
    return True


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_documented,
    content_type_conformance,
    response_headers_conformance,
    body_conformance,
]

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
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return st.just(body)
    answerable = {
        name: value
        for name, value in body.items()
        if name not in MockProvider.unsupported_fields and name != "provider"
    }
    answerable["model"] = "mock-1"
    return st.sampled_from([body, answerable])


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with running_gateway(OVERRIDES) as live:
        yield live


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(case: Case[Any], server: LiveServer) -> None:
    case.call_and_validate(base_url=server.base_url, headers=AUTH, checks=CHECKS, timeout=10)


USER = [{"role": "user", "content": "Hello there"}]
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
    "unknown-model": ("/v1/chat/completions", {"model": "mock/none"}, 404, "application/json"),
    "unknown-provider": ("/v1/chat/completions", {"provider": "none"}, 400, "application/json"),
}


@pytest.mark.parametrize("name", sorted(CHAT_ANSWERS))
def test_chat_answers_conform_to_the_document(name: str, server: LiveServer) -> None:
    path, fields, status, media_type = CHAT_ANSWERS[name]
    body: dict[str, Any] = {"model": "mock-1", "messages": USER, **fields}
    case = schema[path]["POST"].Case(body=body, media_type="application/json")
    checks = CHECKS if status < 500 else CHECKS[1:]
    response = case.call_and_validate(
        base_url=server.base_url, headers=AUTH, checks=checks, timeout=10
    )
    assert response.status_code == status
    assert _media_type(response) == media_type
    if media_type == SSE:
        parsed = parse_sse(response.text)
        assert parsed.done is not (name == "fails-midway")
        assert len(parsed.errors) == (name == "fails-midway")
        assert parsed.chunks
