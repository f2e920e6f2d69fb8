"""The chat stream as the client sees it: chunk events, usage, `[DONE]` — or one error event.

Chunks are relayed one event each, the moment they arrive (those that arrived together in one
write). While the upstream is silent a keep-alive comment goes out every `keepalive_seconds`.
A failure after the first byte ends the stream with one `data: {"error": ...}` event and no
`[DONE]`, so no client takes a broken answer for a finished one. The upstream is closed in
`finally`, whatever ends the stream; a stream given up because its client stopped reading
ends with the read-ahead's `client_too_slow` error as its outcome.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from quart_llm.errors import GatewayError
from quart_llm.providers.answers import StreamChunk, TokenUsage
from quart_llm.providers.token_estimates import estimate_tokens_for_chars
from quart_llm.streaming.readahead import END, HEARTBEAT, ReadAhead, StreamItem
from quart_llm.streaming.sse import DONE, KEEPALIVE, encode_data

logger = logging.getLogger("quart_llm.stream")


@dataclass(slots=True)
class StreamOutcome:
    """What a finished stream did: for usage accounting, metrics and the log line."""

    completed: bool = False
    error: GatewayError | None = None
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    chunks: int = 0
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    text_chars: int = 0
    gateway_seconds: float = 0.0
    """Time spent relaying (parsing, accounting, encoding), upstream waiting excluded."""


@dataclass(slots=True)
class StreamContext:
    """What a chat stream needs to shape its events, and what it did."""

    completion_id: str
    model: str
    provider: str
    include_usage: bool
    keepalive_seconds: float
    prompt_estimate: int
    request_id: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    outcome: StreamOutcome = field(default_factory=StreamOutcome)
    on_finish: Callable[[StreamContext], None] | None = None
    observe_gap: Callable[[float], None] | None = None
    _event_prefix: bytes = field(default=b"", init=False, repr=False)

    def chunk_event(self, choices: list[dict[str, Any]]) -> bytes:
        """One `data:` event for these choices. The envelope's fields are the same on every
        chunk, so they are encoded once and only the choices are encoded per chunk."""
        if not self._event_prefix:
            head = orjson.dumps(self.envelope([]))
            self._event_prefix = b"data: " + head[: -len(b"[]}")]
        return self._event_prefix + orjson.dumps(choices) + b"}\n\n"

    def envelope(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        """A chunk's fields around these choices."""
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "provider": self.provider,
            "choices": choices,
        }

    def final_usage(self) -> TokenUsage:
        """The upstream's usage, or an estimate marked as such when it sent none."""
        if self.outcome.usage is not None:
            return self.outcome.usage
        return TokenUsage(
            self.prompt_estimate,
            estimate_tokens_for_chars(self.outcome.text_chars),
            estimated=True,
        )


async def chat_events(
    stream: ReadAhead, first: StreamItem | None, context: StreamContext
) -> AsyncGenerator[bytes]:
    """Encode an upstream stream as SSE bytes; `first` is an item already taken, if any."""
    outcome = context.outcome
    try:
        stream.attach_writer()
        stream.heartbeat(context.keepalive_seconds)
        item = first
        if item is None:
            yield KEEPALIVE
            item = await stream.get()
        while True:
            if item is END:
                yield _ending(context)
                return
            if item is HEARTBEAT:
                yield KEEPALIVE
            elif isinstance(item, GatewayError):
                outcome.error = item
                yield encode_data(item.to_body(context.request_id))
                return
            elif isinstance(item, list):
                # Batches that have already arrived go out in one write: nothing waits for
                # them, and a burst costs one send instead of one per event. When the end
                # has arrived too, the usage chunk and `[DONE]` join that write.
                started = time.perf_counter()
                events = bytearray()
                while isinstance(item, list):
                    for chunk in item:
                        event = _relay(chunk, context, started)
                        if event is not None:
                            events += event
                    item = stream.ready()
                outcome.gateway_seconds += time.perf_counter() - started
                if item is END:
                    yield bytes(events + _ending(context))
                    return
                if events:
                    yield bytes(events)
                if item is not None:
                    continue
            item = await stream.get()
    finally:
        if outcome.error is None and not outcome.completed:
            outcome.error = stream.given_up()
        try:
            await stream.aclose()
        finally:
            _finish(context)


async def close_events(
    events: AsyncGenerator[bytes], stream: ReadAhead, context: StreamContext
) -> None:
    """Close a chat stream's events whether or not they were ever read. Events read at all
    end in `chat_events`' own `finally`; events never read (the client left between the
    answer's headers being ready and their sending) never ran it, so their upstream is closed
    and their end accounted for here."""
    if inspect.getasyncgenstate(events) != inspect.AGEN_CREATED:
        await events.aclose()
        return
    await events.aclose()
    try:
        await stream.aclose()
    finally:
        _finish(context)


def _ending(context: StreamContext) -> bytes:
    """The usage chunk (when asked for) and `[DONE]`: the answer is complete."""
    ending = b""
    if context.include_usage:
        usage_chunk = context.envelope([])
        usage_chunk["usage"] = context.final_usage().to_wire()
        ending = encode_data(usage_chunk)
    context.outcome.completed = True
    return ending + DONE


def _finish(context: StreamContext) -> None:
    """Runs on every ending, disconnects included, so partial usage is still counted."""
    if context.on_finish is None:
        return
    try:
        context.on_finish(context)
    except Exception:
        logger.exception("recording the end of a stream failed")


def _relay(chunk: StreamChunk, context: StreamContext, now: float) -> bytes | None:
    outcome = context.outcome
    if chunk.usage is not None:
        outcome.usage = chunk.usage
    if not chunk.choices:
        return None
    for choice in chunk.choices:
        delta = choice.get("delta")
        if delta:
            content = delta.get("content")
            if content:
                outcome.text_chars += len(content)
            reasoning = delta.get("reasoning")
            if reasoning:
                outcome.text_chars += len(reasoning)
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            outcome.finish_reason = finish_reason
    if outcome.first_chunk_at is None:
        outcome.first_chunk_at = now
    elif context.observe_gap is not None and outcome.last_chunk_at is not None:
        context.observe_gap(now - outcome.last_chunk_at)
    outcome.last_chunk_at = now
    outcome.chunks += 1
    return context.chunk_event(chunk.choices)
