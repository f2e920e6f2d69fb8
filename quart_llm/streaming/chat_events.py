"""The one read loop of every outgoing stream: relay, keep alive, end, or fail in-band.

Chunks are relayed the moment they arrive (those that arrived together in one write), in the
stream's shape (`stream_context.EventShape`: OpenAI's chat chunks, Anthropic's Messages
events, the Responses API's events). While the upstream is silent the shape's keep-alive goes
out every `keepalive_seconds`. A failure after the first byte ends the stream with the shape's
one in-band error event and never its complete ending (no `[DONE]`, no `message_stop`, no
`response.completed`), so no client takes a broken answer for a finished one. Output past the
call's limit is not relayed: the stream ends there as a complete answer cut at its limit
(`finish_reason` `"length"`; how output is counted: `output_limit`). The upstream is closed in
`finally`, whatever ends the stream; a stream given up because its client stopped reading
ends with the read-ahead's `client_too_slow` error as its outcome.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from quart_llm.errors import GatewayError
from quart_llm.providers.answers import StreamChunk
from quart_llm.streaming.output_limit import FINISH_AT_LIMIT, text_over_limit
from quart_llm.streaming.readahead import END, HEARTBEAT, ReadAhead, StreamItem
from quart_llm.streaming.stream_context import StreamContext, StreamOutcome

logger = logging.getLogger("quart_llm.stream")


class _OutputLimitReached(Exception):
    """A chunk would take the answer past its output limit."""


async def chat_events(
    stream: ReadAhead, first: StreamItem | None, context: StreamContext
) -> AsyncGenerator[bytes]:
    """Encode an upstream stream as SSE bytes; `first` is an item already taken, if any."""
    outcome = context.outcome
    shape = context.shape
    try:
        stream.attach_writer()
        stream.heartbeat(context.keepalive_seconds)
        opening = shape.opening(context)
        item = first
        if item is None:
            yield opening + shape.keepalive()
            item = await stream.get()
        elif opening:
            yield opening
        while True:
            if item is END:
                yield _ending(context)
                return
            if item is HEARTBEAT:
                yield shape.keepalive()
            elif isinstance(item, GatewayError):
                outcome.error = item
                yield shape.failure(item, context)
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
    """What closes an answer cut at its output limit; it finishes with `"length"`."""
    outcome = context.outcome
    outcome.cut_at_limit = True
    outcome.finish_reason = FINISH_AT_LIMIT
    return context.shape.cut_at_limit(context)


def _ending(context: StreamContext) -> bytes:
    """The shape's ending: the answer is complete."""
    context.outcome.completed = True
    return context.shape.ending(context)


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
    return context.shape.chunk(chunk.choices, context)


def _note_finish(choices: list[dict[str, Any]], outcome: StreamOutcome) -> None:
    for choice in choices:
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            outcome.finish_reason = finish_reason
            index = choice.get("index")
            outcome.finished_choices.add(index if isinstance(index, int) else 0)
