from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from quart_llm.config import ProviderTimeouts
from quart_llm.errors import UpstreamProtocolError, UpstreamTimeout
from quart_llm.providers.types import StreamChunk
from quart_llm.upstream_stream import END, QUEUE_SIZE, UpstreamStream


def chunk(text: str) -> StreamChunk:
    return StreamChunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}])


class Source:
    """A scripted upstream that records whether it was closed."""

    def __init__(self, delays: list[float], fail: Exception | None = None) -> None:
        self.delays = delays
        self.fail = fail
        self.closed = asyncio.Event()
        self.produced = 0

    async def chunks(self) -> AsyncIterator[StreamChunk]:
        try:
            for delay in self.delays:
                await asyncio.sleep(delay)
                self.produced += 1
                yield chunk(str(self.produced))
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed.set()


def limits(**values: float) -> ProviderTimeouts:
    return ProviderTimeouts(**{"connect": 1, "first_byte": 1, "idle": 1, "total": 5, **values})


async def drain(stream: UpstreamStream) -> list[object]:
    items: list[object] = []
    while True:
        item = await stream.next(5)
        items.append(item)
        if not isinstance(item, StreamChunk):
            return items


async def test_relays_chunks_then_end() -> None:
    source = Source([0, 0, 0])
    stream = UpstreamStream("p", source.chunks(), limits())
    stream.start()
    items = await drain(stream)
    assert [type(item) for item in items[:3]] == [StreamChunk] * 3
    assert items[3] is END
    await stream.aclose()
    assert source.closed.is_set()


@pytest.mark.parametrize(
    ("delays", "timeouts", "message"),
    [
        ([0.5], {"first_byte": 0.05}, "no first token within 0.05 s"),
        ([0, 0.5], {"idle": 0.05}, "no data for 0.05 s"),
        ([0, 0.04, 0.04, 0.04, 0.04], {"total": 0.1}, "no complete answer within 0.1 s"),
    ],
)
async def test_time_limits_end_the_stream_with_a_timeout(
    delays: list[float], timeouts: dict[str, float], message: str
) -> None:
    source = Source(delays)
    stream = UpstreamStream("p", source.chunks(), limits(**timeouts))
    stream.start()
    items = await drain(stream)
    error = items[-1]
    assert isinstance(error, UpstreamTimeout)
    assert error.status == 504
    assert message in error.message
    await asyncio.wait_for(source.closed.wait(), 1)
    await stream.aclose()


async def test_upstream_errors_are_the_terminal_item() -> None:
    source = Source([0], fail=UpstreamProtocolError("p", "broken"))
    stream = UpstreamStream("p", source.chunks(), limits())
    stream.start()
    items = await drain(stream)
    assert isinstance(items[-1], UpstreamProtocolError)
    await stream.aclose()


async def test_unexpected_exceptions_become_opaque_upstream_errors() -> None:
    source = Source([0], fail=KeyError("internal detail"))
    stream = UpstreamStream("p", source.chunks(), limits())
    stream.start()
    items = await drain(stream)
    error = items[-1]
    assert isinstance(error, UpstreamProtocolError)
    assert "internal detail" not in error.message
    await stream.aclose()


async def test_close_cancels_the_read_ahead_and_closes_the_upstream() -> None:
    source = Source([0, 10])
    stream = UpstreamStream("p", source.chunks(), limits(idle=30, total=60))
    stream.start()
    assert isinstance(await stream.next(1), StreamChunk)
    await stream.aclose()
    assert source.closed.is_set()


async def test_read_ahead_is_bounded_and_a_stalled_reader_is_given_up() -> None:
    source = Source([0] * 100)
    stream = UpstreamStream("p", source.chunks(), limits(idle=0.1))
    stream.start()
    await asyncio.wait_for(source.closed.wait(), 2)
    assert source.produced <= QUEUE_SIZE + 1
    await stream.aclose()


async def test_next_times_out_without_losing_the_stream() -> None:
    source = Source([0.2, 0])
    stream = UpstreamStream("p", source.chunks(), limits())
    stream.start()
    with pytest.raises(TimeoutError):
        await stream.next(0.01)
    items = await drain(stream)
    assert len(items) == 3
    await stream.aclose()
