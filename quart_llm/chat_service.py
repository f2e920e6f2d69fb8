"""The work behind the chat routes: route, check, call the upstream, shape the answer.

Everything a stream needs is resolved here, inside the request, and handed to the generator:
Quart 0.23 gives streaming generators an empty `g`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from quart import Response

from quart_llm.chat_stream import StreamContext, chat_events
from quart_llm.errors import GatewayError, UpstreamTimeout
from quart_llm.gateway import Gateway
from quart_llm.providers.types import Completion, Usage
from quart_llm.request_ids import current_request_id
from quart_llm.responses import json_response
from quart_llm.routing import Route, resolve_route
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.sse import sse_response
from quart_llm.tokens import estimate_prompt_tokens, estimate_text_tokens
from quart_llm.upstream_stream import UpstreamStream

PROVIDER_HEADER = "X-Quart-LLM-Provider"
logger = logging.getLogger("quart_llm.chat")


def new_completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def route_request(gateway: Gateway, request: ChatRequest) -> Route:
    route = resolve_route(
        gateway.providers, gateway.settings.default_provider, request.model, request.provider
    )
    route.provider.check_supported(request)
    return route


async def complete_chat(gateway: Gateway, request: ChatRequest) -> Response:
    route = route_request(gateway, request)
    completion = await _complete_within_deadline(route, request)
    return json_response(
        _completion_body(route, request, completion),
        headers={PROVIDER_HEADER: route.provider.name},
    )


async def stream_chat(gateway: Gateway, request: ChatRequest, *, include_usage: bool) -> Response:
    """Start the upstream stream; errors before its first chunk are real HTTP errors.

    The view waits up to `sse.keepalive_seconds` for the first chunk. A failure in that window
    is answered with a proper status; after it the stream is committed and keeps the client
    informed with keep-alive comments, and failures travel in-band.
    """
    route = route_request(gateway, request)
    provider = route.provider
    stream = UpstreamStream(
        provider.name, provider.stream_chat(request, route.model), provider.settings.timeouts
    )
    stream.start()
    keepalive = gateway.settings.sse.keepalive_seconds
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
    context = StreamContext(
        completion_id=new_completion_id(),
        model=route.public_model,
        provider=provider.name,
        include_usage=include_usage,
        keepalive_seconds=keepalive,
        prompt_estimate=estimate_prompt_tokens(request.messages),
        request_id=current_request_id.get(),
        on_finish=log_stream_outcome,
    )
    return sse_response(
        chat_events(stream, first, context), headers={PROVIDER_HEADER: provider.name}
    )


def log_stream_outcome(context: StreamContext) -> None:
    outcome = context.outcome
    usage = context.final_usage()
    logger.info(
        "stream %s: provider=%s model=%s chunks=%d prompt_tokens=%d completion_tokens=%d%s",
        "completed" if outcome.completed else ("failed" if outcome.error else "abandoned"),
        context.provider,
        context.model,
        outcome.chunks,
        usage.prompt_tokens,
        usage.completion_tokens,
        " (estimated)" if usage.estimated else "",
        extra={"request_id": context.request_id},
    )


async def _complete_within_deadline(route: Route, request: ChatRequest) -> Completion:
    total = route.provider.settings.timeouts.total
    try:
        async with asyncio.timeout(total):
            return await route.provider.complete(request, route.model)
    except TimeoutError:
        raise UpstreamTimeout(
            route.provider.name, f"no complete answer within {total:g} s"
        ) from None


def _completion_body(route: Route, request: ChatRequest, completion: Completion) -> dict[str, Any]:
    usage = completion.usage
    if usage is None:
        text = "".join(
            str(choice.get("message", {}).get("content") or "") for choice in completion.choices
        )
        usage = Usage(
            estimate_prompt_tokens(request.messages), estimate_text_tokens(text), estimated=True
        )
    body: dict[str, Any] = {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": route.public_model,
        "provider": route.provider.name,
        "choices": completion.choices,
        "usage": usage.to_wire(),
    }
    body.update(completion.extra)
    return body
