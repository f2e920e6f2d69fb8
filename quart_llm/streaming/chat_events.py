"""The chat stream as the client sees it: chunk events, usage, `[DONE]` — or one error event.

Chunks are relayed one event each, the moment they arrive (those that arrived together in one
write). While the upstream is silent a keep-alive comment goes out every `keepalive_seconds`.
A failure after the first byte ends the stream with one `data: {"error": ...}` event and no
`[DONE]`, so no client takes a broken answer for a finished one. Output past the call's limit
is not relayed: the stream ends there as a complete answer, with a final chunk whose
`finish_reason` is `"length"`, then usage and `[DONE]` (how output is counted:
`output_limit`). The upstream is closed in `finally`, whatever ends the stream; a stream given
up because its client stopped reading ends with the read-ahead's `client_too_slow` error as
its outcome.
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
from quart_llm.streaming.output_limit import (
    FINISH_AT_LIMIT,
    capped_usage,
    text_over_limit,
    usage_at_limit,
)
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
    output_deltas: int = 0
    """Deltas that carried output: a lower bound of the output tokens (see `output_limit`)."""
    finished_choices: set[int] = field(default_factory=set)
    cut_at_limit: bool = False
    """The upstream went past the output limit and the stream was ended there."""
    gateway_seconds: float = 0.0
    """Time spent relaying (parsing, accounting, encoding), upstream waiting excluded."""
    captured_text: list[str] | None = None
    """The answer's text pieces, kept only when a trace captures content (None: not kept)."""


class _OutputLimitReached(Exception):
    """A chunk would take the answer past its output limit."""


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
    output_cap: int | None = None
    """Output tokens the answer may have, every choice together (None: no limit)."""
    choices: int = 1
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
        """The upstream's usage, or an estimate marked as such when it sent none; never more
        output than the limit, and the limit itself when the stream was cut there."""
        outcome = self.outcome
        if outcome.cut_at_limit and self.output_cap is not None:
            prompt = outcome.usage.prompt_tokens if outcome.usage else self.prompt_estimate
            return usage_at_limit(prompt, self.output_cap)
        usage = outcome.usage or TokenUsage(
            self.prompt_estimate, estimate_tokens_for_chars(outcome.text_chars), estimated=True
        )
        return capped_usage(usage, self.output_cap)


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
                events, item = _relay_arrived(item, stream, context)
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


def _relay_arrived(
    item: StreamItem, stream: ReadAhead, context: StreamContext
) -> tuple[bytearray, StreamItem | None]:
    """The events of `item` and of every batch that has already arrived after it, and the
    next item (None: nothing has arrived yet). They go out in one write: nothing waits for
    them, and a burst costs one send instead of one per event; when the end has arrived too,
    the usage chunk and `[DONE]` join that write. Past the output limit the answer ends: the
    next item is then END, as if the upstream had finished."""
    started = time.perf_counter()
    events = bytearray()
    try:
        while isinstance(item, list):
            for chunk in item:
                event = _relay(chunk, context, started)
                if event is not None:
                    events += event
            item = stream.ready()
    except _OutputLimitReached:
        events += _cut_at_limit(context)
        item = END
    context.outcome.gateway_seconds += time.perf_counter() - started
    return events, item


def _cut_at_limit(context: StreamContext) -> bytes:
    """The final chunk of an answer cut at its output limit: every choice still open ends
    with `finish_reason: "length"`."""
    outcome = context.outcome
    outcome.cut_at_limit = True
    outcome.finish_reason = FINISH_AT_LIMIT
    choices: list[dict[str, Any]] = [
        {"index": index, "delta": {}, "finish_reason": FINISH_AT_LIMIT, "logprobs": None}
        for index in range(context.choices)
        if index not in outcome.finished_choices
    ]
    return context.chunk_event(choices) if choices else b""


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
    """One chunk's event (None: nothing to send); raises `_OutputLimitReached` instead when
    the chunk would take the answer past its output limit."""
    outcome = context.outcome
    if chunk.usage is not None:
        outcome.usage = chunk.usage
    if not chunk.choices:
        return None
    finishing = False
    for choice in chunk.choices:
        delta = choice.get("delta")
        if delta:
            content = delta.get("content")
            if content:
                outcome.text_chars += len(content)
                if outcome.captured_text is not None:
                    outcome.captured_text.append(content)
            reasoning = delta.get("reasoning")
            if reasoning:
                outcome.text_chars += len(reasoning)
            if content or reasoning or "tool_calls" in delta:
                outcome.output_deltas += 1
        if choice.get("finish_reason"):
            finishing = True
    cap = context.output_cap
    if cap is not None and (
        outcome.output_deltas > cap or text_over_limit(outcome.text_chars, cap)
    ):
        raise _OutputLimitReached
    if finishing:
        _note_finish(chunk.choices, outcome)
    if outcome.first_chunk_at is None:
        outcome.first_chunk_at = now
    elif context.observe_gap is not None and outcome.last_chunk_at is not None:
        context.observe_gap(now - outcome.last_chunk_at)
    outcome.last_chunk_at = now
    outcome.chunks += 1
    return context.chunk_event(chunk.choices)


def _note_finish(choices: list[dict[str, Any]], outcome: StreamOutcome) -> None:
    for choice in choices:
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            outcome.finish_reason = finish_reason
            index = choice.get("index")
            outcome.finished_choices.add(index if isinstance(index, int) else 0)
