"""The work behind the chat routes: route, admit, call the upstream, shape the answer, settle.

Everything a stream needs is resolved here, inside the request, and handed to the generator:
Quart 0.23 gives streaming generators an empty `g`. Quotas are settled on every ending: in the
request for whole answers, from the stream's end hook (disconnects included) for streams.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from quart import Response

from quart_llm.auth import Principal
from quart_llm.chat_stream import StreamContext, chat_events
from quart_llm.draining import shutting_down_error
from quart_llm.errors import GatewayError, UpstreamError, UpstreamTimeout
from quart_llm.gateway import Gateway
from quart_llm.observability.request_record import RequestRecord
from quart_llm.providers.types import Completion, Usage
from quart_llm.quotas.service import Admission
from quart_llm.quotas.store import UsageRecord
from quart_llm.random_ids import RandomIds
from quart_llm.request_ids import current_request_id
from quart_llm.resilience.attempts import AttemptReport
from quart_llm.responses import json_response
from quart_llm.routing import Route, resolve_route
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.sse import sse_response
from quart_llm.tokens import estimate_prompt_tokens, estimate_text_tokens
from quart_llm.upstream_stream import StreamItem, UpstreamStream

PROVIDER_HEADER = "X-Quart-LLM-Provider"


def new_completion_id(ids: RandomIds) -> str:
    return "chatcmpl-" + ids.hex(12)


def route_request(gateway: Gateway, request: ChatRequest) -> Route:
    route = resolve_route(
        gateway.providers, gateway.settings.default_provider, request.model, request.provider
    )
    route.provider.check_supported(request)
    return route


async def admit(
    gateway: Gateway, principal: Principal, request: ChatRequest, prompt_estimate: int
) -> Admission:
    return await gateway.quotas.admit(principal.key_id, prompt_estimate, request.output_limit)


def usage_record(route: Route, usage: Usage) -> UsageRecord:
    return UsageRecord(
        provider=route.provider.name,
        model=route.model,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        estimated=usage.estimated,
    )


async def complete_chat(
    gateway: Gateway, principal: Principal, request: ChatRequest, record: RequestRecord
) -> Response:
    primary = route_request(gateway, request)
    _note_route(record, primary)
    prompt_estimate = estimate_prompt_tokens(request.messages)
    admission = await admit(gateway, principal, request, prompt_estimate)
    task = asyncio.current_task()
    if task is not None:
        gateway.drainer.add_answer(task)
    usage_entry: UsageRecord | None = None
    try:
        record.upstream_started = time.perf_counter()
        try:
            completion, report = await gateway.attempter.first_answer(
                request, primary, lambda route: _complete_within_deadline(route, request)
            )
        finally:
            record.upstream_seconds = time.perf_counter() - record.upstream_started
        route = report.route
        _note_route(record, route, report)
        usage = completion.usage or _estimated_usage(completion, prompt_estimate)
        record.usage = usage
        body = _completion_body(new_completion_id(gateway.ids), route, completion, usage)
        usage_entry = usage_record(route, usage)
    except asyncio.CancelledError:
        gateway.tasks.spawn(gateway.quotas.finish(admission, usage_entry), "settle-chat")
        if task is not None and gateway.drainer.forced:
            task.uncancel()
            raise shutting_down_error() from None
        raise
    except BaseException:
        gateway.tasks.spawn(gateway.quotas.finish(admission, usage_entry), "settle-chat")
        raise
    finally:
        if task is not None:
            gateway.drainer.remove_answer(task)
    await gateway.quotas.finish(admission, usage_entry)
    return json_response(body, headers={PROVIDER_HEADER: route.provider.name, **admission.headers})


async def stream_chat(
    gateway: Gateway,
    principal: Principal,
    request: ChatRequest,
    record: RequestRecord,
    *,
    include_usage: bool,
) -> Response:
    """Start the upstream stream; errors before its first chunk are real HTTP errors.

    The view waits up to `sse.keepalive_seconds` for the first chunk. A failure in that window
    is answered with a proper status; after it the stream is committed and keeps the client
    informed with keep-alive comments, and failures travel in-band.
    """
    primary = route_request(gateway, request)
    _note_route(record, primary)
    prompt_estimate = estimate_prompt_tokens(request.messages)
    admission = await admit(gateway, principal, request, prompt_estimate)
    keepalive = gateway.settings.sse.keepalive_seconds
    record.upstream_started = time.perf_counter()

    async def open_stream(route: Route) -> tuple[UpstreamStream, StreamItem | None]:
        provider = route.provider
        stream = UpstreamStream(
            provider.name, provider.stream_batches(request, route.model), provider.settings.timeouts
        )
        stream.start()
        try:
            try:
                first = await stream.next(keepalive)
            except TimeoutError:
                first = None
            if isinstance(first, GatewayError):
                raise first
        except BaseException:
            await stream.aclose()
            raise
        return stream, first

    try:
        (stream, first), report = await gateway.attempter.first_answer(
            request, primary, open_stream
        )
    except BaseException:
        gateway.tasks.spawn(gateway.quotas.finish(admission, None), "release-stream")
        raise
    route = report.route
    provider = route.provider
    _note_route(record, route, report)
    record.streamed = True
    setup_seconds = record.upstream_started - record.started
    gateway.drainer.add_stream(stream)
    open_streams = gateway.metrics.open_streams.labels(provider.name)
    open_streams.inc()

    def settle(context: StreamContext) -> None:
        open_streams.dec()
        gateway.drainer.remove_stream(stream)
        outcome = context.outcome
        if isinstance(outcome.error, UpstreamError):
            gateway.attempter.record_stream_failure(outcome.error)
        usage = context.final_usage()
        gateway.tasks.spawn(
            gateway.quotas.finish(admission, usage_record(route, usage)), "settle-stream"
        )
        record.usage = usage
        record.first_chunk_at = outcome.first_chunk_at
        record.gateway_seconds = setup_seconds + outcome.gateway_seconds
        if outcome.completed:
            record.outcome = "ok"
        elif outcome.error is not None:
            record.outcome = (
                "upstream_error" if isinstance(outcome.error, UpstreamError) else ("shutting_down")
            )
            record.error_code = outcome.error.code
        else:
            record.outcome = "client_disconnected"
        record.finish(gateway.metrics)

    context = StreamContext(
        completion_id=new_completion_id(gateway.ids),
        model=route.public_model,
        provider=provider.name,
        include_usage=include_usage,
        keepalive_seconds=keepalive,
        prompt_estimate=prompt_estimate,
        request_id=current_request_id.get(),
        on_finish=settle,
        observe_gap=gateway.metrics.chunk_gap.labels(provider.name).observe,
    )
    return sse_response(
        chat_events(stream, first, context),
        headers={PROVIDER_HEADER: provider.name, **admission.headers},
    )


def _note_route(record: RequestRecord, route: Route, report: AttemptReport | None = None) -> None:
    record.provider = route.provider.name
    record.model = route.model
    if report is not None:
        record.retries = report.retries
        record.fallbacks = report.fallbacks


async def _complete_within_deadline(route: Route, request: ChatRequest) -> Completion:
    total = route.provider.settings.timeouts.total
    try:
        async with asyncio.timeout(total):
            return await route.provider.complete(request, route.model)
    except TimeoutError:
        raise UpstreamTimeout(
            route.provider.name, f"no complete answer within {total:g} s"
        ) from None


def _estimated_usage(completion: Completion, prompt_estimate: int) -> Usage:
    text = "".join(
        str(choice.get("message", {}).get("content") or "") for choice in completion.choices
    )
    return Usage(prompt_estimate, estimate_text_tokens(text), estimated=True)


def _completion_body(
    completion_id: str, route: Route, completion: Completion, usage: Usage
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": route.public_model,
        "provider": route.provider.name,
        "choices": completion.choices,
        "usage": usage.to_wire(),
    }
    body.update(completion.extra)
    return body
