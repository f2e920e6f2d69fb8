"""Spans of real requests through a real gateway, captured with the SDK's in-memory exporter:
a whole answer, a stream, retries and fallbacks, a stream that fails midway; the
`traceparent` each upstream attempt is sent, and the trace ids in the access line."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from quart_llm import create_app
from quart_llm.web.context import SERVICES_KEY
from tests.conftest import AUTH
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.simulators.recording import RecordedRequest
from tests.support.live_server import LiveServer
from tests.support.log_capture import Records
from tests.support.ports import free_port
from tests.support.sse_reader import parse_sse

HELLO = [{"role": "user", "content": "Hello"}]
FAST_RETRIES = {"attempts": 2, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.02}
NO_BREAKER = {"failure_threshold": 1000}
PACE = 0.05
"""Seconds between the tokens of the `paced` scenario."""


@dataclass
class Traced:
    gateway: LiveServer
    spans: InMemorySpanExporter
    upstream: OpenAICompatSimulator
    access: list[logging.LogRecord]


@pytest.fixture(scope="module")
def traced() -> Iterator[Traced]:
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    collector = Records()
    access = logging.getLogger("quart_llm.access")
    access.addHandler(collector)
    with OpenAICompatSimulator(SimulatorConfig(token_interval=PACE)) as upstream:
        overrides: dict[str, Any] = {
            "tracing": {"enabled": True, "exporter": "none"},
            "providers": {
                "sim": {
                    "kind": "openai",
                    "base_url": f"{upstream.base_url}/v1",
                    "retry": {"attempts": 0},
                    "circuit": NO_BREAKER,
                },
                "dead": {
                    "kind": "openai",
                    "base_url": dead_url,
                    "retry": FAST_RETRIES,
                    "circuit": NO_BREAKER,
                },
            },
            "fallbacks": {"dead": ["mock/mock-1"], "sim/sim/error-before-stream": ["mock/mock-1"]},
            "pricing": {
                "models": {"sim/sim/normal": {"input_per_million": 3, "output_per_million": 5}}
            },
        }
        app = create_app(overrides)
        spans = InMemorySpanExporter()
        tracing = app.extensions[SERVICES_KEY].tracing
        assert tracing is not None
        tracing.provider.add_span_processor(SimpleSpanProcessor(spans))
        gateway = LiveServer(app)
        gateway.start()
        try:
            yield Traced(gateway, spans, upstream, collector.records)
        finally:
            gateway.stop()
            access.removeHandler(collector)


def new_traceparent() -> tuple[str, str, str]:
    """A client's trace context: (header, trace id, parent span id)."""
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


async def chat(traced: Traced, model: str, traceparent: str, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=traced.gateway.base_url, timeout=30) as client:
        return await client.post(
            "/v1/chat/completions",
            headers={**AUTH, "traceparent": traceparent},
            json={"model": model, "messages": HELLO, **body},
        )


def spans_of(traced: Traced, trace_id: str) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The server span of the trace (once it has ended) and its attempts, in order."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        mine = [
            span
            for span in traced.spans.get_finished_spans()
            if span.context is not None and format(span.context.trace_id, "032x") == trace_id
        ]
        servers = [span for span in mine if span.kind is SpanKind.SERVER]
        if servers:
            attempts = [span for span in mine if span.kind is SpanKind.CLIENT]
            return servers[0], sorted(attempts, key=lambda span: span.start_time or 0)
        time.sleep(0.02)
    raise AssertionError(f"no server span of trace {trace_id}")


def chat_requests(upstream: OpenAICompatSimulator) -> list[RecordedRequest]:
    """What the upstream received for chat (its health probes left out)."""
    return [r for r in upstream.requests if r.path.endswith("/chat/completions")]


def span_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.span_id, "016x")


def parent_id(span: ReadableSpan) -> str:
    assert span.parent is not None
    return format(span.parent.span_id, "016x")


async def test_a_whole_answer_has_a_server_span_and_one_attempt(traced: Traced) -> None:
    traceparent, trace_id, client_span = new_traceparent()
    traced.upstream.clear()
    response = await chat(traced, "sim/sim/normal", traceparent, max_tokens=50)
    assert response.status_code == 200
    server, attempts = spans_of(traced, trace_id)
    assert server.name == "POST /v1/chat/completions"
    assert parent_id(server) == client_span, "the client's traceparent is the parent"
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["http.route"] == "/v1/chat/completions"
    assert server.attributes["gen_ai.request.model"] == "sim/sim/normal"
    assert server.attributes["quart_llm.request_id"] == response.headers["X-Request-ID"]
    cost = server.attributes["quart_llm.cost_usd"]
    tokens = response.json()["usage"]
    assert cost == (tokens["prompt_tokens"] * 3 + tokens["completion_tokens"] * 5) / 1_000_000
    (attempt,) = attempts
    assert attempt.name == "chat sim/normal"
    assert parent_id(attempt) == span_id(server)
    attributes = attempt.attributes
    assert attributes is not None
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "sim"
    assert attributes["gen_ai.request.model"] == "sim/normal"
    assert attributes["gen_ai.response.model"] == "sim/normal"
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert attributes["gen_ai.request.stream"] is False
    usage = response.json()["usage"]
    assert attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["quart_llm.attempt"] == 1 and attributes["quart_llm.fallback"] is False
    assert "gen_ai.input.messages" not in attributes, "content only when the operator opts in"
    (received,) = chat_requests(traced.upstream)
    assert received.headers["traceparent"] == f"00-{trace_id}-{span_id(attempt)}-01"


async def test_a_stream_span_ends_with_the_stream_and_has_time_to_first_chunk(
    traced: Traced,
) -> None:
    traceparent, trace_id, _ = new_traceparent()
    response = await chat(traced, "sim/sim/paced", traceparent, stream=True)
    assert response.status_code == 200
    assert parse_sse(response.text).done
    server, (attempt,) = spans_of(traced, trace_id)
    assert attempt.attributes is not None
    assert attempt.attributes["gen_ai.request.stream"] is True
    first_chunk = attempt.attributes["gen_ai.response.time_to_first_chunk"]
    assert isinstance(first_chunk, float) and first_chunk > 0
    assert attempt.attributes["gen_ai.usage.output_tokens"] == len(SimulatorConfig().tokens)
    assert attempt.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert attempt.end_time is not None and server.end_time is not None
    assert attempt.start_time is not None
    lasted = (attempt.end_time - attempt.start_time) / 1e9
    tokens = len(SimulatorConfig().tokens)
    assert lasted >= (tokens - 1) * PACE, "the span ends with the stream, not its first chunk"
    assert first_chunk < lasted - PACE
    assert server.status.status_code is StatusCode.UNSET
    assert server.attributes is not None
    assert "quart_llm.cost_usd" not in server.attributes, "no price: no cost, never zero"


async def test_retries_and_a_fallback_are_each_a_span(traced: Traced) -> None:
    traceparent, trace_id, _ = new_traceparent()
    response = await chat(traced, "dead/any-model", traceparent)
    assert response.status_code == 200
    assert response.headers["X-Quart-LLM-Provider"] == "mock"
    server, attempts = spans_of(traced, trace_id)
    assert [span.name for span in attempts] == ["chat any-model"] * 3 + ["chat mock-1"]
    for number, failed in enumerate(attempts[:3], start=1):
        assert failed.attributes is not None
        assert failed.attributes["quart_llm.attempt"] == number
        assert failed.attributes["quart_llm.fallback"] is False
        assert failed.attributes["error.type"] == "upstream_unavailable"
        assert failed.status.status_code is StatusCode.ERROR
    answered = attempts[3]
    assert answered.attributes is not None
    assert answered.attributes["quart_llm.fallback"] is True
    assert answered.attributes["gen_ai.provider.name"] == "mock"
    assert answered.status.status_code is StatusCode.UNSET
    assert server.attributes is not None
    assert server.attributes["quart_llm.retries"] == 2
    assert server.attributes["quart_llm.fallbacks"] == 1
    assert server.attributes["gen_ai.provider.name"] == "mock"


async def test_a_fallback_after_an_upstream_error(traced: Traced) -> None:
    traceparent, trace_id, _ = new_traceparent()
    traced.upstream.clear()
    response = await chat(traced, "sim/sim/error-before-stream", traceparent)
    assert response.status_code == 200
    _, (failed, answered) = spans_of(traced, trace_id)
    assert failed.attributes is not None and answered.attributes is not None
    assert failed.attributes["error.type"] == "upstream_error"
    assert answered.attributes["quart_llm.fallback"] is True
    (received,) = chat_requests(traced.upstream)
    assert received.headers["traceparent"].split("-")[2] == span_id(failed)


async def test_a_stream_failing_midway_marks_its_spans(traced: Traced) -> None:
    traceparent, trace_id, _ = new_traceparent()
    response = await chat(traced, "sim/sim/error-mid-stream", traceparent, stream=True)
    assert response.status_code == 200
    assert parse_sse(response.text).errors
    server, (attempt,) = spans_of(traced, trace_id)
    for span in (server, attempt):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["error.type"] == "upstream_stream_error"
    assert server.attributes is not None
    assert server.attributes["quart_llm.outcome"] == "upstream_error"


async def test_the_access_line_carries_the_trace_and_server_span_ids(traced: Traced) -> None:
    traceparent, trace_id, _ = new_traceparent()
    response = await chat(traced, "mock/mock-1", traceparent)
    server, _ = spans_of(traced, trace_id)
    request_id = response.headers["X-Request-ID"]
    (line,) = [r for r in traced.access if r.__dict__["quart_llm.request_id"] == request_id]
    assert line.__dict__["trace_id"] == trace_id
    assert line.__dict__["span_id"] == span_id(server)


async def test_a_request_without_traceparent_starts_a_trace(traced: Traced) -> None:
    before = len(traced.spans.get_finished_spans())
    async with httpx.AsyncClient(base_url=traced.gateway.base_url) as client:
        assert (await client.get("/v1/models", headers=AUTH)).status_code == 200
    deadline = time.monotonic() + 10
    while len(traced.spans.get_finished_spans()) == before and time.monotonic() < deadline:
        time.sleep(0.02)
    server = traced.spans.get_finished_spans()[-1]
    assert server.name == "GET /v1/models"
    assert server.parent is None


async def test_content_is_on_the_spans_only_when_the_operator_opts_in() -> None:
    app = create_app({"tracing": {"enabled": True, "exporter": "none", "capture_content": True}})
    spans = InMemorySpanExporter()
    tracing = app.extensions[SERVICES_KEY].tracing
    assert tracing is not None
    tracing.provider.add_span_processor(SimpleSpanProcessor(spans))
    async with app.test_app():
        client = app.test_client()
        for stream in (False, True):
            response = await client.post(
                "/v1/chat/completions",
                headers=AUTH,
                json={"model": "mock-1", "messages": HELLO, "stream": stream},
            )
            await response.get_data()
    attempts = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CLIENT]
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.attributes is not None
        assert '"content":"Hello"' in str(attempt.attributes["gen_ai.input.messages"])
        output = str(attempt.attributes["gen_ai.output.messages"])
        assert '"role":"assistant"' in output and '"finish_reason":"stop"' in output
        assert len(output) > len('[{"role":"assistant","parts":[{"type":"text","content":""}]')


async def test_tracing_is_off_by_default_and_sends_nothing_upstream() -> None:
    app = create_app()
    assert app.extensions[SERVICES_KEY].tracing is None
    with OpenAICompatSimulator(SimulatorConfig()) as upstream:
        overrides = {
            "providers": {"sim": {"kind": "openai", "base_url": f"{upstream.base_url}/v1"}}
        }
        gateway = LiveServer(create_app(overrides))
        gateway.start()
        try:
            async with httpx.AsyncClient(base_url=gateway.base_url) as client:
                traceparent, _, _ = new_traceparent()
                response = await client.post(
                    "/v1/chat/completions",
                    headers={**AUTH, "traceparent": traceparent},
                    json={"model": "sim/sim/normal", "messages": HELLO},
                )
                assert response.status_code == 200
        finally:
            gateway.stop()
        (received,) = chat_requests(upstream)
    assert "traceparent" not in received.headers


async def test_embeddings_have_an_embeddings_attempt_span(traced: Traced) -> None:
    traceparent, trace_id, _ = new_traceparent()
    traced.upstream.clear()
    async with httpx.AsyncClient(base_url=traced.gateway.base_url, timeout=30) as client:
        response = await client.post(
            "/v1/embeddings",
            headers={**AUTH, "traceparent": traceparent},
            json={"model": "sim/text-embedding-3-small", "input": ["a b", "c"], "dimensions": 4},
        )
    assert response.status_code == 200
    server, (attempt,) = spans_of(traced, trace_id)
    assert server.attributes is not None
    assert server.attributes["gen_ai.operation.name"] == "embeddings"
    assert attempt.name == "embeddings text-embedding-3-small"
    attributes = attempt.attributes
    assert attributes is not None
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.request.encoding_formats"] == ("float",)
    assert attributes["gen_ai.embeddings.dimension.count"] == 4
    assert attributes["gen_ai.usage.input_tokens"] == response.json()["usage"]["prompt_tokens"]
    (received,) = [r for r in traced.upstream.requests if r.path.endswith("/embeddings")]
    assert received.headers["traceparent"] == f"00-{trace_id}-{span_id(attempt)}-01"
