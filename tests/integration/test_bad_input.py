"""Hostile and broken input against a real server in front of recording simulators.

Every refusal is the OpenAI error envelope as JSON, nothing reaches an upstream, no answer is a
5xx, nothing is logged at ERROR, and the server keeps serving. Where the HTTP layer itself
refuses (oversized or malformed headers) the answer is Hypercorn's own, never a crash.

Decisions: invalid UTF-8, lone surrogate escapes, NaN/Infinity and nesting deeper than 1024
levels are not JSON the gateway accepts (400 `invalid_json`); a NUL escaped inside a string
(`"\\u0000"`) is valid JSON and is forwarded intact, escaped again; a raw NUL byte inside a
string is invalid JSON (400). `MAX_MESSAGES` (4096) bounds the conversation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from quart import Quart

from quart_llm import create_app
from quart_llm.schemas.chat_request import MAX_MESSAGES
from tests.conftest import AUTH, TEST_KEY
from tests.integration.gateway_with_simulators import gateway_overrides, simulator_config
from tests.simulators import OllamaSimulator, OpenAICompatSimulator, SimulatorServer
from tests.support.live_server import LiveServer
from tests.support.log_capture import Records

MAX_BODY = 256 * 1024
MODEL = "openai/sim/normal"
ROUTES = ("/v1/chat/completions", "/v1/chat/stream")
JSON_HEADERS = {**AUTH, "Content-Type": "application/json"}
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


@dataclass
class Harness:
    gateway: LiveServer
    simulators: tuple[SimulatorServer, ...]
    openai: OpenAICompatSimulator
    statuses: list[int] = field(default_factory=list)
    logs: Records = field(default_factory=Records)

    def clear(self) -> None:
        for simulator in self.simulators:
            simulator.clear()
        self.statuses.clear()
        self.logs.records.clear()

    def upstream_requests(self) -> int:
        return sum(len(simulator.requests) for simulator in self.simulators)

    async def assert_still_serving(self, upstream_requests: int = 0) -> None:
        assert self.upstream_requests() == upstream_requests
        async with httpx.AsyncClient(base_url=self.gateway.base_url, timeout=10) as client:
            health = await client.get("/v1/health")
            models = await client.get("/v1/models", headers=AUTH)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert models.status_code == 200
        assert [status for status in self.statuses if status >= 500] == []
        serious = [r for r in self.logs.records if r.levelno >= logging.ERROR]
        assert serious == [], [r.getMessage() for r in serious]
        texts = [r.getMessage() + str(r.exc_info) for r in self.logs.records]
        assert not any("RecursionError" in text or "Traceback" in text for text in texts)


def _record_statuses(app: Quart, statuses: list[int]) -> None:
    inner = app.asgi_app

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await inner(scope, receive, sending)

    app.asgi_app = recording  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with ExitStack() as stack:
        ollama = stack.enter_context(OllamaSimulator(simulator_config()))
        openai = stack.enter_context(OpenAICompatSimulator(simulator_config(), flavor="openai"))
        openrouter = stack.enter_context(
            OpenAICompatSimulator(simulator_config(), flavor="openrouter")
        )
        # Health probes the upstreams once, here, and keeps the answer for the whole module:
        # a probe made when a test asks for /v1/health after the default 5 s would be counted
        # as bad input that reached an upstream (it happened on a loaded machine).
        app = create_app(
            gateway_overrides(ollama, openai, openrouter)
            | {"max_body_bytes": MAX_BODY, "health": {"cache_seconds": 3600}}
        )
        server = LiveServer(app)
        running = Harness(server, (ollama, openai, openrouter), openai)
        _record_statuses(app, running.statuses)
        hypercorn_errors = logging.getLogger("hypercorn.error")
        server._config.errorlog = hypercorn_errors
        loggers = [logging.getLogger(), logging.getLogger("quart_llm"), hypercorn_errors]
        for logger in loggers:
            logger.addHandler(running.logs)
        try:
            server.start()
            stack.callback(server.stop)
            assert httpx.get(server.base_url + "/v1/health").status_code == 200
            yield running
        finally:
            for logger in loggers:
                logger.removeHandler(running.logs)


@pytest.fixture
def h(harness: Harness) -> Harness:
    harness.clear()
    return harness


def body(**fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    request.update(fields)
    return {name: value for name, value in request.items() if value is not ...}


def encoded(request: dict[str, Any]) -> bytes:
    return json.dumps(request).encode()


def expect_error(response: httpx.Response, status: int, code: str, param: Any = ...) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert {"message", "type", "param", "code"} <= error.keys()
    assert isinstance(error["message"], str) and error["message"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    if param is not ...:
        assert error["param"] == param
    assert re.fullmatch(SANE_REQUEST_ID, response.headers["x-request-id"])


async def post(h: Harness, route: str, content: Any, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=h.gateway.base_url, timeout=20) as client:
        return await client.post(route, content=content, headers=headers)


DEEP = 100_000
DEEP_OBJECTS = 40_000

INVALID_JSON: dict[str, bytes] = {
    "truncated": b'{"model": "openai/sim/normal", "messages": [',
    "trailing-garbage": encoded(body()) + b" x",
    "single-quotes": b"{'model': 'openai/sim/normal'}",
    "empty-body": b"",
    "invalid-utf8": encoded(body()).replace(b'"hi"', b'"h\xff\xfei"'),
    "overlong-utf8": encoded(body()).replace(b'"hi"', b'"\xc0\xafhi"'),
    "lone-surrogate-escape": encoded(body()).replace(b'"hi"', b'"\\ud800"'),
    "raw-nul-in-string": encoded(body()).replace(b'"hi"', b'"h\x00i"'),
    "nan": encoded(body()).replace(b'"model"', b'"temperature": NaN, "model"'),
    "infinity": encoded(body()).replace(b'"model"', b'"temperature": 1e999, "model"'),
    "deeply-nested": b'{"model": "openai/sim/normal", "messages": '
    + b"[" * DEEP
    + b"]" * DEEP
    + b"}",
    "deeply-nested-objects": b'{"model": "openai/sim/normal", "metadata": '
    + b'{"a":' * DEEP_OBJECTS
    + b"1"
    + b"}" * DEEP_OBJECTS
    + b"}",
}


@pytest.mark.parametrize("route", [*ROUTES, "/v1/embeddings"])
@pytest.mark.parametrize("case", sorted(INVALID_JSON))
async def test_invalid_json_is_400(h: Harness, route: str, case: str) -> None:
    response = await post(h, route, INVALID_JSON[case], JSON_HEADERS)
    expect_error(response, 400, "invalid_json", None)
    await h.assert_still_serving()


TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


INVALID_REQUESTS: dict[str, tuple[dict[str, Any] | list[Any] | None, str | None]] = {
    "not-an-object": ([body()], None),
    "null": (None, None),
    "empty-messages": (body(messages=[]), "messages"),
    "missing-messages": (body(messages=...), "messages"),
    "missing-model": (body(model=...), "model"),
    "empty-model": (body(model=""), "model"),
    "unknown-role": (body(messages=[{"role": "wizard", "content": "hi"}]), "messages[0].role"),
    "role-missing": (body(messages=[{"content": "hi"}]), "messages[0].role"),
    "user-without-content": (body(messages=[{"role": "user"}]), "messages[0]"),
    "model-is-number": (body(model=42), "model"),
    "messages-is-string": (body(messages="hi"), "messages"),
    "message-is-string": (body(messages=["hi"]), "messages[0]"),
    "content-is-number": (body(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
    "stream-is-list": (body(stream=[True]), "stream"),
    "temperature-is-string": (body(temperature="hot"), "temperature"),
    "max-tokens-is-fraction": (body(max_tokens=1.5), "max_tokens"),
    "stop-is-number": (body(stop=7), "stop"),
    "unknown-field": (body(temprature=0.5), "temprature"),
    "temperature-above-2": (body(temperature=2.01), "temperature"),
    "temperature-negative": (body(temperature=-0.1), "temperature"),
    "top-p-above-1": (body(top_p=1.5), "top_p"),
    "top-p-negative": (body(top_p=-0.01), "top_p"),
    "max-tokens-zero": (body(max_tokens=0), "max_tokens"),
    "max-tokens-negative": (body(max_tokens=-1), "max_tokens"),
    "max-tokens-huge": (body(max_tokens=1_000_001), "max_tokens"),
    "seed-beyond-64-bits": (body(seed=2**64), "seed"),
    "too-many-messages": (
        body(messages=[{"role": "user", "content": "m"}] * (MAX_MESSAGES + 904)),
        "messages",
    ),
    "tool-schema-too-deep": (
        body(tools=[{**TOOL, "function": {"name": "f", "parameters": {"a": nested(300)}}}]),
        "tools[0].function.parameters",
    ),
    "tool-schema-integer-beyond-64-bits": (
        body(tools=[{**TOOL, "function": {"name": "f", "parameters": {"maximum": 10**30}}}]),
        "tools[0].function.parameters",
    ),
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", sorted(INVALID_REQUESTS))
async def test_invalid_request_is_400_naming_the_field(h: Harness, route: str, case: str) -> None:
    request, param = INVALID_REQUESTS[case]
    content = json.dumps(request).encode()
    assert len(content) < MAX_BODY
    response = await post(h, route, content, JSON_HEADERS)
    expect_error(response, 400, "invalid_request", param)
    await h.assert_still_serving()


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_wrong_or_missing_content_type_is_415(h: Harness, content_type: str | None) -> None:
    headers = dict(AUTH)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await post(h, ROUTES[0], encoded(body()), headers)
    assert response.request.headers.get("content-type") == content_type
    expect_error(response, 415, "unsupported_media_type", None)
    await h.assert_still_serving()


async def test_thousands_of_messages_within_the_limit_reach_the_upstream_once(h: Harness) -> None:
    messages = [{"role": "user", "content": "m"} for _ in range(3000)]
    response = await post(h, ROUTES[0], encoded(body(messages=messages)), JSON_HEADERS)
    assert response.status_code == 200, response.text
    received = h.openai.requests
    assert len(received) == 1
    assert received[0].json["messages"] == messages
    await h.assert_still_serving(upstream_requests=1)


async def test_an_escaped_nul_inside_a_message_is_forwarded_intact(h: Harness) -> None:
    content = encoded(body(messages=[{"role": "user", "content": "a\x00b"}]))
    assert b"\\u0000" in content
    response = await post(h, ROUTES[0], content, JSON_HEADERS)
    assert response.status_code == 200, response.text
    received = h.openai.requests
    assert len(received) == 1
    assert received[0].json["messages"] == [{"role": "user", "content": "a\x00b"}]
    assert b"\x00" not in received[0].body
    assert b"a\\u0000b" in received[0].body
    await h.assert_still_serving(upstream_requests=1)


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


async def exchange(h: Harness, head: bytes, body: bytes = b"") -> RawResponse | None:
    """Send raw bytes, read the one answer; None when the server closed without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", h.gateway.port)
    try:
        writer.write(head + body)
        await writer.drain()
        raw_head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = raw_head.decode("latin-1").split("\r\n")[:-2]
        status = int(lines[0].split(" ")[1])
        headers = [
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines[1:])
        ]
        length = int(next((v for k, v in headers if k == "content-length"), "0"))
        content = await asyncio.wait_for(reader.readexactly(length), 10)
        return RawResponse(status, headers, content)
    except asyncio.IncompleteReadError:
        return None
    finally:
        writer.close()


def chat_head(extra: bytes) -> bytes:
    return (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Authorization: Bearer {TEST_KEY}\r\n".encode()
        + b"Content-Type: application/json\r\n"
        + extra
        + b"Connection: close\r\n\r\n"
    )


def expect_raw_413(response: RawResponse | None) -> None:
    assert response is not None
    assert response.status == 413
    assert response.header("content-type") == "application/json"
    error = response.json()["error"]
    assert {"message", "type", "param", "code"} <= error.keys()
    assert error["code"] == "request_too_large"
    assert error["type"] == "invalid_request_error"


async def test_body_over_the_limit_with_content_length_is_413_before_it_is_read(
    h: Harness,
) -> None:
    head = chat_head(f"Content-Length: {MAX_BODY + 1}\r\n".encode())
    expect_raw_413(await exchange(h, head))
    await h.assert_still_serving()


async def test_body_over_the_limit_with_chunked_encoding_is_413(h: Harness) -> None:
    head = chat_head(b"Transfer-Encoding: chunked\r\n")
    piece = b"x" * 16_384
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(MAX_BODY // 16_384))
    chunks += b"1\r\nx\r\n"
    expect_raw_413(await exchange(h, head, chunks))
    await h.assert_still_serving()


async def test_body_over_the_limit_from_an_http_client_is_413(h: Harness) -> None:
    oversized = b'{"model": "' + b"x" * (MAX_BODY + 1) + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(oversized), 65_536):
            yield oversized[start : start + 65_536]

    for content in (oversized, stream()):
        response = await post(h, ROUTES[0], content, JSON_HEADERS)
        chunked = response.request.headers.get("transfer-encoding") == "chunked"
        assert chunked is not isinstance(content, bytes)
        expect_error(response, 413, "request_too_large", None)
    await h.assert_still_serving()


async def test_a_body_at_the_limit_is_read_and_validated(h: Harness) -> None:
    prefix = b'{"model": "openai/sim/normal", "user": "'
    content = prefix + b"x" * (MAX_BODY - len(prefix) - 2) + b'"}'
    assert len(content) == MAX_BODY
    response = await post(h, ROUTES[0], content, JSON_HEADERS)
    expect_error(response, 400, "invalid_request")
    await h.assert_still_serving()


async def test_a_100_kib_header_gets_hypercorns_answer_and_the_server_lives_on(
    h: Harness,
) -> None:
    head = chat_head(b"X-Padding: " + b"a" * 100 * 1024 + b"\r\n")
    response = await exchange(h, head, encoded(body()))
    assert response is None or response.status in (400, 431)
    await h.assert_still_serving()


INJECTIONS = {
    "bare-cr": b"abc\rX-Injected: 1",
    "bare-lf": b"abc\nX-Injected: 1",
    "obs-fold": b"abc\r\n X-Injected: 1",
    "nul": b"abc\x00X-Injected: 1",
    "percent-encoded": b"abc%0d%0aX-Injected:%201",
    "latin1-crlf-lookalike": b"abc\xc4\x8d\xc4\x8aX-Injected: 1",
}


@pytest.mark.parametrize("route", ["/v1/health", "/v1/usage", "/v1/nowhere"])
@pytest.mark.parametrize("case", sorted(INJECTIONS))
async def test_cr_lf_in_header_values_inject_nothing(h: Harness, route: str, case: str) -> None:
    head = (
        f"GET {route} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        + f"Authorization: Bearer {TEST_KEY}\r\n".encode()
        + b"X-Request-ID: "
        + INJECTIONS[case]
        + b"\r\nConnection: close\r\n\r\n"
    )
    response = await exchange(h, head)
    if response is not None:
        assert response.status < 500
        assert response.status in (200, 400, 404)
        assert response.header("x-injected") is None
        request_id = response.header("x-request-id")
        if request_id is not None:
            assert re.fullmatch(SANE_REQUEST_ID, request_id)
            assert "Injected" not in request_id
    await h.assert_still_serving()


async def test_cr_lf_in_a_header_of_a_chat_request_reaches_no_upstream(h: Harness) -> None:
    head = chat_head(
        f"Content-Length: {len(encoded(body()))}\r\n".encode()
        + b"X-Request-ID: abc\rX-Simulator-Scenario: hang\r\n"
    )
    response = await exchange(h, head, encoded(body()))
    assert response is None or response.status == 400
    await h.assert_still_serving()
