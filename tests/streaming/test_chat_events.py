"""The chat stream as a client receives it, from a scripted upstream read through `ReadAhead`:
writes, keep-alives, the ending, in-band errors, and the accounting hook."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from quart_llm.config.models import ProviderTimeouts
from quart_llm.errors import UpstreamProtocolError
from quart_llm.providers.answers import StreamChunk, TokenUsage
from quart_llm.routing.deadline import Deadline
from quart_llm.streaming.chat_events import chat_events
from quart_llm.streaming.readahead import ReadAhead
from quart_llm.streaming.sse import DONE, KEEPALIVE
from quart_llm.streaming.stream_context import StreamContext

Step = list[StreamChunk] | float | Exception


def delta(text: str) -> StreamChunk:
    return StreamChunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}])


def finish(usage: TokenUsage | None = None) -> StreamChunk:
    return StreamChunk([{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=usage)


async def scripted(steps: list[Step]) -> AsyncIterator[list[StreamChunk]]:
    """Batches as listed; a number is a pause of that many seconds, an exception is raised."""
    for step in steps:
        if isinstance(step, float):
            await asyncio.sleep(step)
        elif isinstance(step, Exception):
            raise step
        else:
            yield step


class Finished:
    def __init__(self) -> None:
        self.contexts: list[StreamContext] = []

    def __call__(self, context: StreamContext) -> None:
        self.contexts.append(context)


def context(
    finished: Finished, *, include_usage: bool = True, keepalive: float = 5.0, **more: Any
) -> StreamContext:
    return StreamContext(
        completion_id="chatcmpl-test",
        model="up/m",
        provider="up",
        include_usage=include_usage,
        keepalive_seconds=keepalive,
        prompt_estimate=7,
        request_id="req_test",
        on_finish=finished,
        **more,
    )


async def open_stream(steps: list[Step]) -> ReadAhead:
    timeouts = ProviderTimeouts(connect=1, first_byte=2, idle=2, total=10)
    readahead = ReadAhead("up", scripted(steps), Deadline.start(timeouts))
    readahead.start()
    return readahead


def events(writes: list[bytes]) -> list[Any]:
    """The data of every event written, JSON parsed (`[DONE]` as the string)."""
    found: list[Any] = []
    for event in b"".join(writes).split(b"\n\n"):
        if event.startswith(b"data: "):
            data = event.removeprefix(b"data: ")
            found.append("[DONE]" if data == b"[DONE]" else orjson.loads(data))
    return found


async def test_what_has_arrived_goes_out_in_one_write_with_the_ending() -> None:
    finished = Finished()
    readahead = await open_stream([[delta("Hel")], [delta("lo")], [finish(TokenUsage(7, 2))]])
    await asyncio.sleep(0.05)  # the whole answer has arrived
    writes = [w async for w in chat_events(readahead, None, context(finished))]
    assert writes[0] == KEEPALIVE, "no first chunk was taken: the stream begins with one"
    assert len(writes) == 2
    sent = events(writes)
    assert [e["choices"][0]["delta"] for e in sent[:2]] == [{"content": "Hel"}, {"content": "lo"}]
    assert sent[3]["choices"] == [] and sent[3]["usage"]["total_tokens"] == 9
    assert sent[-1] == "[DONE]"
    assert {e["id"] for e in sent[:-1]} == {"chatcmpl-test"}
    (ended,) = finished.contexts
    assert ended.outcome.completed and ended.outcome.chunks == 3
    assert ended.outcome.text_chars == 5 and ended.outcome.finish_reason == "stop"


async def test_without_upstream_usage_the_usage_is_an_estimate() -> None:
    finished = Finished()
    readahead = await open_stream([[delta("abcdefgh")], [finish()]])
    writes = [w async for w in chat_events(readahead, await readahead.next(1), context(finished))]
    usage = events(writes)[-2]["usage"]
    assert usage == {
        "prompt_tokens": 7,
        "completion_tokens": 2,
        "total_tokens": 9,
        "estimated": True,
    }


async def test_no_usage_chunk_unless_asked_for() -> None:
    readahead = await open_stream([[delta("a")], [finish(TokenUsage(1, 1))]])
    writes = [
        w async for w in chat_events(readahead, None, context(Finished(), include_usage=False))
    ]
    assert all("usage" not in e for e in events(writes) if e != "[DONE]")
    assert b"".join(writes).endswith(DONE)


async def test_a_silent_upstream_gets_keep_alives() -> None:
    readahead = await open_stream([[delta("a")], 0.35, [finish()]])
    writes = [w async for w in chat_events(readahead, None, context(Finished(), keepalive=0.1))]
    assert writes.count(KEEPALIVE) >= 3
    assert b"".join(writes).endswith(DONE)


async def test_a_failure_after_the_start_is_one_error_event_and_no_done() -> None:
    finished = Finished()
    failure = UpstreamProtocolError("up", "it broke")
    readahead = await open_stream([[delta("a")], 0.02, failure])
    writes = [w async for w in chat_events(readahead, None, context(finished))]
    sent = events(writes)
    assert sent[-1]["error"]["code"] == "upstream_protocol_error"
    assert sent[-1]["error"]["request_id"] == "req_test"
    assert "[DONE]" not in sent
    (ended,) = finished.contexts
    assert ended.outcome.error is failure and not ended.outcome.completed


async def test_closing_early_still_finishes_once_and_closes_the_upstream() -> None:
    finished = Finished()
    readahead = await open_stream([[delta("a")], 5.0, [finish()]])
    stream = chat_events(readahead, await readahead.next(1), context(finished))
    assert b"data: " in await anext(stream)
    await stream.aclose()
    (ended,) = finished.contexts
    assert not ended.outcome.completed and ended.outcome.error is None
    assert ended.outcome.text_chars == 1


async def test_gaps_between_chunks_are_observed() -> None:
    gaps: list[float] = []
    readahead = await open_stream([[delta("a")], 0.05, [delta("b")], 0.05, [finish()]])
    stream = chat_events(readahead, None, context(Finished(), observe_gap=gaps.append))
    _ = [w async for w in stream]
    assert len(gaps) == 2
    assert all(gap > 0.04 for gap in gaps), "each gap spans the upstream's pause"


async def open_watched_stream(steps: list[Step], closed: list[bool]) -> ReadAhead:
    """`open_stream`, noting in `closed` whether the upstream was closed before its end."""

    async def watched() -> AsyncIterator[list[StreamChunk]]:
        ended = False
        try:
            async for batch in scripted(steps):
                yield batch
            ended = True
        finally:
            closed.append(not ended)

    timeouts = ProviderTimeouts(connect=1, first_byte=2, idle=10, total=20)
    readahead = ReadAhead("up", watched(), Deadline.start(timeouts))
    readahead.start()
    return readahead


async def test_an_upstream_past_the_limit_is_cut_there_and_closed() -> None:
    finished, closed = Finished(), list[bool]()
    runaway: list[Step] = [[delta(letter)] for letter in "abcdefghij"]
    readahead = await open_watched_stream([*runaway, 5.0, [finish(TokenUsage(7, 10))]], closed)
    writes = [w async for w in chat_events(readahead, None, context(finished, output_cap=3))]
    sent = events(writes)
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in sent[:-2]) == "abc"
    assert sent[-3]["choices"] == [
        {"index": 0, "delta": {}, "finish_reason": "length", "logprobs": None}
    ]
    usage = sent[-2]["usage"]
    assert (usage["completion_tokens"], usage["prompt_tokens"], usage["estimated"]) == (3, 7, True)
    assert sent[-1] == "[DONE]"
    assert closed == [True], "the upstream was closed before it ended"
    (ended,) = finished.contexts
    assert ended.outcome.completed and ended.outcome.cut_at_limit
    assert ended.final_usage().completion_tokens == 3


async def test_an_upstream_that_keeps_the_limit_is_relayed_as_it_is() -> None:
    finished = Finished()
    length = StreamChunk([{"index": 0, "delta": {}, "finish_reason": "length"}], TokenUsage(7, 3))
    readahead = await open_stream([[delta("a"), delta("b")], [delta("c")], [length]])
    writes = [w async for w in chat_events(readahead, None, context(finished, output_cap=3))]
    sent = events(writes)
    assert [e["choices"][0]["finish_reason"] for e in sent[:-2]] == [None, None, None, "length"]
    assert sent[-2]["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert not finished.contexts[0].outcome.cut_at_limit


async def test_deltas_packed_with_text_are_cut_by_a_bound_on_text() -> None:
    readahead = await open_stream([[delta("x" * 32)], [delta("y")], [finish(TokenUsage(7, 9))]])
    writes = [w async for w in chat_events(readahead, None, context(Finished(), output_cap=2))]
    sent = events(writes)
    assert sent[0]["choices"][0]["delta"] == {"content": "x" * 32}, "16 characters a token"
    assert sent[1]["choices"][0]["finish_reason"] == "length", "a 33rd character is cut"
    assert sent[2]["usage"]["completion_tokens"] == 2


async def test_the_charge_never_exceeds_the_limit() -> None:
    finished = Finished()
    readahead = await open_stream([[delta("abcd")], [finish(TokenUsage(7, 40))]])
    writes = [w async for w in chat_events(readahead, None, context(finished, output_cap=10))]
    assert events(writes)[-2]["usage"]["completion_tokens"] == 10
    assert events(writes)[-3]["choices"][0]["finish_reason"] == "stop"


async def test_several_choices_share_the_limit_and_each_open_one_ends() -> None:
    two = StreamChunk(
        [
            {"index": 0, "delta": {"content": "a"}, "finish_reason": None},
            {"index": 1, "delta": {"content": "b"}, "finish_reason": "stop"},
        ]
    )
    steps: list[Step] = [[two], [delta("c")], [delta("d")], [delta("e")], [finish()]]
    readahead = await open_stream(steps)
    stream_context = context(Finished(), output_cap=4, choices=2)
    sent = events([w async for w in chat_events(readahead, None, stream_context)])
    assert [[c["delta"].get("content") for c in e["choices"]] for e in sent[:4]] == [
        ["a", "b"],
        ["c"],
        ["d"],
        [None],
    ]
    assert sent[3]["choices"] == [
        {"index": 0, "delta": {}, "finish_reason": "length", "logprobs": None}
    ], "only the choice still open ends at the limit"
