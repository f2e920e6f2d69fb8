"""A streamed chat: open the upstream under the first-chunk window, then hand the events on.

Errors known before the first chunk, within `sse.keepalive_seconds`, are real HTTP errors
(and may be retried or fall back); after that window the stream is committed: keep-alive
comments keep the client informed, and failures travel in-band. Everything the stream needs
is resolved here, inside the request: Quart gives streaming generators an empty `g`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from quart_llm.errors import GatewayError, UpstreamError
from quart_llm.observability.request_ids import current_request_id
from quart_llm.observability.request_record import RequestRecord
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.route import Route
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.services.chat import ChatCall
from quart_llm.services.container import Services
from quart_llm.services.draining import SHUTTING_DOWN
from quart_llm.services.keys import Principal
from quart_llm.streaming.chat_events import chat_events, close_events
from quart_llm.streaming.readahead import CLIENT_TOO_SLOW, ReadAhead, StreamItem
from quart_llm.streaming.stream_context import EventShape, StreamContext

_OUTCOME_OF_CODE = {CLIENT_TOO_SLOW: "client_too_slow", SHUTTING_DOWN: "shutting_down"}
"""The outcome of a stream ended by the gateway itself, by its error's code."""


@dataclass(slots=True)
class EventStream:
    """A chat answer as SSE bytes; `on_close` callbacks run once it has ended and been
    accounted for, however it ended, even if its events were never read (`aclose`)."""

    events: AsyncGenerator[bytes]
    headers: dict[str, str]
    close: Callable[[], Awaitable[None]]
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def closed(self) -> None:
        """Run the `on_close` callbacks (once the stream has been accounted for)."""
        for callback in self.on_close:
            callback()

    async def aclose(self) -> None:
        """End the stream now if it has not ended (idempotent)."""
        await self.close()


async def stream_chat(
    services: Services,
    principal: Principal,
    request: ChatRequest,
    record: RequestRecord,
    *,
    include_usage: bool,
    shape: EventShape | None = None,
) -> EventStream:
    """Start the upstream stream; a failure before its first chunk is raised as it is. Its
    events are OpenAI's chat chunks, or `shape`'s (another API's translation)."""
    call = await ChatCall.admit(services, principal, request, record)
    keepalive = services.settings.sse.keepalive_seconds
    try:
        readahead, first = await call.first_answer(
            _stream_attempt(call.request, keepalive), streamed=True
        )
    except BaseException:
        call.settle_later(None)
        raise
    call.release_request()
    record.streamed = True
    provider = call.route.provider.name
    context = StreamContext(
        completion_id=call.completion_id,
        model=call.route.public_model,
        provider=provider,
        include_usage=include_usage,
        keepalive_seconds=keepalive,
        prompt_estimate=call.prompt_estimate,
        request_id=current_request_id.get(),
        observe_gap=services.metrics.chunk_gap.labels(provider).observe,
        output_cap=call.admission.output_cap,
        choices=request.n or 1,
    )
    if record.trace is not None and record.trace.capture_content:
        context.outcome.captured_text = []
    if shape is not None:
        context.shape = shape
    events = chat_events(readahead, first, context)
    stream = EventStream(events, call.headers, partial(close_events, events, readahead, context))
    context.on_finish = partial(_stream_ended, call, readahead, stream)
    services.drainer.add_stream(readahead)
    services.metrics.open_streams.labels(provider).inc()
    return stream


def _stream_attempt(
    request: ChatRequest, keepalive: float
) -> Callable[[Route, Deadline], Awaitable[tuple[ReadAhead, StreamItem | None]]]:
    """An attempt at a stream from one route: its first chunk within `keepalive` seconds, or
    none yet (the stream is then committed and sends keep-alives)."""

    async def attempt(route: Route, deadline: Deadline) -> tuple[ReadAhead, StreamItem | None]:
        provider = route.provider
        readahead = ReadAhead(
            provider.name, provider.stream_batches(request, route.model), deadline
        )
        readahead.start()
        try:
            try:
                first = await readahead.next(keepalive)
            except TimeoutError:
                first = None
            if isinstance(first, GatewayError):
                raise first
        except BaseException:
            await readahead.aclose()
            raise
        return readahead, first

    return attempt


def _stream_ended(
    call: ChatCall, readahead: ReadAhead, stream: EventStream, context: StreamContext
) -> None:
    """The one accounting of a stream's end, however it ended: quotas, circuit, record."""
    services = call.services
    services.metrics.open_streams.labels(call.route.provider.name).dec()
    services.drainer.remove_stream(readahead)
    outcome = context.outcome
    if isinstance(outcome.error, UpstreamError):
        services.attempter.record_stream_failure(call.route, outcome.error)
    usage = context.final_usage()
    call.settle_later(usage)
    record = call.record
    record.usage = usage
    record.output_cut = outcome.cut_at_limit
    record.first_chunk_at = outcome.first_chunk_at
    setup_seconds = (record.upstream_started or record.started) - record.started
    record.gateway_seconds = setup_seconds + outcome.gateway_seconds
    record.outcome = _outcome_name(outcome.completed, outcome.error)
    if outcome.error is not None:
        record.error_code = outcome.error.code
    if record.trace is not None:
        record.trace.finish_reasons = [outcome.finish_reason] if outcome.finish_reason else []
        if outcome.captured_text is not None:
            record.trace.output = ["".join(outcome.captured_text)]
    stream.closed()


def _outcome_name(completed: bool, error: GatewayError | None) -> str:
    """How a stream ended, for its log line: what happened, never a guess."""
    if completed:
        return "ok"
    if error is None:
        return "client_gone"
    if isinstance(error, UpstreamError):
        return "upstream_error"
    return _OUTCOME_OF_CODE.get(error.code or "", "error")
