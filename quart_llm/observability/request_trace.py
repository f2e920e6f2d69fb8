"""The spans of one request (made by `tracing.Tracing`): its server span, a client span per
upstream attempt, and the ending of both from the request's record.

An attempt's span is current while the attempt runs (log lines of the attempt carry its ids),
and `upstream_trace_headers` holds its `traceparent` for the provider to send. A failed
attempt's span ends at once with `error.type` (the gateway's error code); the answering one
ends with the upstream's answer: a whole answer when it arrived, a stream when it ended, with
usage, finish reasons and time to first chunk, set from the record in `end`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from quart_llm.observability.request_record import RequestRecord
    from quart_llm.routing.deadline import Deadline
    from quart_llm.routing.route import Route

upstream_trace_headers: ContextVar[tuple[tuple[bytes, bytes], ...]] = ContextVar(
    "quart_llm_upstream_trace_headers", default=()
)
"""`traceparent` (and `tracestate`) of the upstream attempt under way, for its request."""

CLIENT_OUTCOMES = frozenset({"client_gone", "client_too_slow"})
"""Endings the client caused: noted on the span (`error.type`), not marked as an error."""


@dataclass(slots=True)
class AttemptRequest:
    """What an attempt's span says of the request: the operation, `gen_ai.request.*`
    attributes and the input messages (put on the span only with content capture on)."""

    operation: str
    attributes: dict[str, Any]
    input_messages: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class RequestTrace:
    """The spans of one request: its server span and the attempt that answered."""

    tracer: Tracer
    server: Span
    headers_for: Callable[[Span], tuple[tuple[bytes, bytes], ...]]
    capture_content: bool = False
    attempts: int = 0
    answering: Span | None = None
    answering_started: float = 0.0
    answered_at_ns: int | None = None
    """When a whole answer arrived (its span ends there); None for a stream."""
    output: list[str] | None = None
    """The answer's texts, one per choice: kept only with content capture on."""
    finish_reasons: list[str] = field(default_factory=list)

    def traced[T](
        self,
        attempt: Callable[[Route, Deadline], Awaitable[T]],
        request: AttemptRequest,
        *,
        streamed: bool,
    ) -> Callable[[Route, Deadline], Awaitable[T]]:
        """`attempt`, each call in a client span of its own: current while it runs, and the
        parent the upstream is told of. A call to another route than the first is a
        fallback."""
        first_target: tuple[str, str] | None = None

        async def traced_attempt(route: Route, deadline: Deadline) -> T:
            nonlocal first_target
            target = (route.provider.name, route.model)
            first_target = first_target or target
            self.attempts += 1
            span = self._start_attempt(route, request, fallback=target != first_target)
            started = time.perf_counter()
            context_token = otel_context.attach(trace.set_span_in_context(span))
            headers_token = upstream_trace_headers.set(self.headers_for(span))
            try:
                value = await attempt(route, deadline)
            except BaseException as error:
                failed(span, _error_type(error))
                span.end()
                raise
            finally:
                upstream_trace_headers.reset(headers_token)
                otel_context.detach(context_token)
            self.answering, self.answering_started = span, started
            if not streamed:
                self.answered_at_ns = time.time_ns()
            return value

        return traced_attempt

    def _start_attempt(self, route: Route, request: AttemptRequest, *, fallback: bool) -> Span:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": request.operation,
            "gen_ai.provider.name": route.provider.name,
            "gen_ai.request.model": route.model,
            **request.attributes,
            "quart_llm.attempt": self.attempts,
            "quart_llm.fallback": fallback,
        }
        base_url = route.provider.settings.base_url
        if base_url is not None:
            attributes["server.address"] = base_url.host
            attributes["server.port"] = base_url.port
        if request.input_messages is not None and self.capture_content:
            attributes["gen_ai.input.messages"] = orjson.dumps(request.input_messages).decode()
        return self.tracer.start_span(
            f"{request.operation} {route.model}",
            kind=SpanKind.CLIENT,
            attributes=defined(attributes),
        )

    def end(self, record: RequestRecord) -> None:
        """End the spans with what the request's record learnt (the record calls this once)."""
        answer = _answer_attributes(record)
        span = self.answering
        if span is not None:
            span.set_attributes(answer)
            if self.finish_reasons:
                span.set_attribute("gen_ai.response.finish_reasons", self.finish_reasons)
            if record.first_chunk_at is not None:
                span.set_attribute(
                    "gen_ai.response.time_to_first_chunk",
                    max(0.0, record.first_chunk_at - self.answering_started),
                )
            if self.output is not None and self.capture_content:
                span.set_attribute("gen_ai.output.messages", self._output_messages())
            if record.streamed and record.outcome not in (None, "ok"):
                failed(span, record.error_code or record.outcome or "error", record.outcome)
            span.end(end_time=self.answered_at_ns)
        self._end_server(record, answer)

    def _end_server(self, record: RequestRecord, answer: dict[str, AttributeValue]) -> None:
        server = self.server
        server.set_attributes(
            defined(
                {
                    "http.response.status_code": record.status,
                    "gen_ai.operation.name": record.operation or None,
                    "gen_ai.request.model": record.requested_model or None,
                    **answer,
                    "quart_llm.key_id": record.key_id,
                    "quart_llm.outcome": record.outcome,
                    "quart_llm.cost_usd": record.cost_usd,
                    "quart_llm.retries": record.retries or None,
                    "quart_llm.fallbacks": record.fallbacks or None,
                }
            )
        )
        if record.status >= 500 or (record.streamed and record.outcome not in (None, "ok")):
            error_type = record.error_code or record.outcome or str(record.status)
            failed(server, error_type, record.outcome)
        elif record.status >= 400:
            server.set_attribute("error.type", record.error_code or str(record.status))
        server.end()

    def _output_messages(self) -> str:
        """The answer in the GenAI conventions' message shape (JSON)."""
        reasons = self.finish_reasons or [""]
        messages = [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": text}],
                "finish_reason": reasons[min(index, len(reasons) - 1)],
            }
            for index, text in enumerate(self.output or [])
        ]
        return orjson.dumps(messages).decode()


def input_messages(messages: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """`(role, text)` pairs in the GenAI conventions' message shape."""
    return [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in messages]


def failed(span: Span, error_type: str, outcome: str | None = None) -> None:
    """Note the error's type; the span's status is ERROR unless the client caused it."""
    span.set_attribute("error.type", error_type)
    if outcome not in CLIENT_OUTCOMES:
        span.set_status(StatusCode.ERROR, error_type)


def defined(attributes: dict[str, Any]) -> dict[str, AttributeValue]:
    """The attributes that have a value (OpenTelemetry refuses None)."""
    return {key: value for key, value in attributes.items() if value is not None}


def _answer_attributes(record: RequestRecord) -> dict[str, AttributeValue]:
    """What the request learnt of the answer, in GenAI attribute names."""
    attributes: dict[str, AttributeValue] = {}
    if record.provider:
        attributes["gen_ai.provider.name"] = record.provider
    if record.model and 0 < record.status < 400:
        attributes["gen_ai.response.model"] = record.model
    if record.usage is not None:
        attributes["gen_ai.usage.input_tokens"] = record.usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = record.usage.completion_tokens
        attributes["quart_llm.usage.estimated"] = record.usage.estimated
    return attributes


def _error_type(error: BaseException) -> str:
    """The gateway's error code (`upstream_timeout`), else the exception's class name."""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else type(error).__qualname__
