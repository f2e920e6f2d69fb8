from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from quart_llm.config.models import ProviderTimeouts
from quart_llm.errors import ServiceUnavailable, UpstreamProtocolError, UpstreamTimeout
from quart_llm.providers.answers import StreamChunk
from quart_llm.routing.deadline import Deadline
from quart_llm.streaming.readahead import END, HEARTBEAT, QUEUE_SIZE, ReadAhead


def chunk(text: str) -> StreamChunk:
    return StreamChunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}])


class Source:
    """A scripted upstream that records whether it was closed."""

    def __init__(self, delays: list[float], fail: Exception | None = None) -> None:
        self.delays = delays
        self.fail = fail
        self.closed = asyncio.Event()
        self.produced = 0

    async def chunks(self) -> AsyncIterator[list[StreamChunk]]:
        try:
            for delay in self.delays:
                await asyncio.sleep(delay)
                self.produced += 1
                yield [chunk(str(self.produced))]
            if self.fail is not None:
                raise self.fail
        finally:
            self.closed.set()


def limits(**values: float) -> Deadline:
    """The deadline of a request starting now (call it inside the test's event loop)."""
    timeouts = {"connect": 1, "first_byte": 1, "idle": 1, "total": 5, **values}
    return Deadline.start(ProviderTimeouts(**timeouts))


async def drain(stream: ReadAhead) -> list[object]:
    items: list[object] = []
    while True:
        item = await stream.next(5)
        items.append(item)
        if not isinstance(item, list):
            return items


async def test_relays_chunks_then_end() -> None:
    source = Source([0, 0, 0])
    stream = ReadAhead("p", source.chunks(), limits())
    stream.start()
    items = await drain(stream)
    assert [type(item) for item in items[:3]] == [list] * 3
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
    stream = ReadAhead("p", source.chunks(), limits(**timeouts))
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
    stream = ReadAhead("p", source.chunks(), limits())
    stream.start()
    items = await drain(stream)
    assert isinstance(items[-1], UpstreamProtocolError)
    await stream.aclose()


async def test_unexpected_exceptions_become_opaque_upstream_errors() -> None:
    source = Source([0], fail=KeyError("internal detail"))
    stream = ReadAhead("p", source.chunks(), limits())
    stream.start()
    items = await drain(stream)
    error = items[-1]
    assert isinstance(error, UpstreamProtocolError)
    assert "internal detail" not in error.message
    await stream.aclose()


async def test_close_cancels_the_read_ahead_and_closes_the_upstream() -> None:
    source = Source([0, 10])
    stream = ReadAhead("p", source.chunks(), limits(idle=30, total=60))
    stream.start()
    assert isinstance(await stream.next(1), list)
    await stream.aclose()
    assert source.closed.is_set()


async def test_read_ahead_is_bounded_and_a_stalled_reader_is_given_up() -> None:
    source = Source([0] * 100)
    stream = ReadAhead("p", source.chunks(), limits(idle=0.1))
    stream.start()
    await asyncio.wait_for(source.closed.wait(), 2)
    assert source.produced <= QUEUE_SIZE + 1
    await stream.aclose()


async def test_next_times_out_without_losing_the_stream() -> None:
    source = Source([0.2, 0])
    stream = ReadAhead("p", source.chunks(), limits())
    stream.start()
    with pytest.raises(TimeoutError):
        await stream.next(0.01)
    items = await drain(stream)
    assert len(items) == 3
    await stream.aclose()


async def test_heartbeats_fill_silences_and_stop_when_data_flows() -> None:
    source = Source([0, 0.25, 0])
    stream = ReadAhead("p", source.chunks(), limits())
    stream.start()
    assert isinstance(await stream.next(1), list)
    stream.heartbeat(0.1)
    items = [await stream.get() for _ in range(4)]
    assert items[:2] == [HEARTBEAT, HEARTBEAT]
    assert [type(item) for item in items[2:]] == [list, list]
    assert await stream.get() is END
    await stream.aclose()


async def test_no_heartbeat_while_items_wait_for_the_reader() -> None:
    source = Source([0, 0, 0])
    stream = ReadAhead("p", source.chunks(), limits())
    stream.start()
    stream.heartbeat(0.05)
    await asyncio.sleep(0.2)
    items = [stream.ready() for _ in range(4)]
    assert [type(item) for item in items[:3]] == [list] * 3
    assert items[3] is END
    await stream.aclose()


async def test_a_reader_that_comes_back_after_being_given_up_gets_an_error() -> None:
    source = Source([0] * 100)
    stream = ReadAhead("p", source.chunks(), limits(idle=0.1))
    stream.start()
    await asyncio.wait_for(source.closed.wait(), 2)
    queued = [await stream.get() for _ in range(QUEUE_SIZE)]
    assert all(isinstance(item, list) for item in queued)
    error = await stream.get()
    assert isinstance(error, ServiceUnavailable)
    assert error.code == "client_too_slow"
    await stream.aclose()


async def test_a_limit_longer_than_the_first_byte_one_is_not_cut_early() -> None:
    source = Source([0, 0.15, 0.15])
    stream = ReadAhead("p", source.chunks(), limits(first_byte=0.05, idle=0.3))
    stream.start()
    items = await drain(stream)
    assert [type(item) for item in items] == [list, list, list, object]
    await stream.aclose()


async def test_a_first_byte_limit_longer_than_idle_is_shortened_after_the_first_batch() -> None:
    source = Source([0, 0.5])
    stream = ReadAhead("p", source.chunks(), limits(first_byte=5, idle=0.1))
    stream.start()
    started = asyncio.get_running_loop().time()
    items = await drain(stream)
    assert isinstance(items[-1], UpstreamTimeout)
    assert "no data for 0.1 s" in items[-1].message
    assert asyncio.get_running_loop().time() - started < 0.4
    await stream.aclose()


async def test_giving_up_cancels_the_attached_writer_wherever_it_waits() -> None:
    source = Source([0] * 100)
    stream = ReadAhead("p", source.chunks(), limits(idle=0.1))
    stream.start()

    async def stuck_writer() -> None:
        stream.attach_writer()
        await asyncio.Event().wait()  # a send the client never lets through

    writer = asyncio.create_task(stuck_writer())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(writer, 2)
    assert source.closed.is_set()
    given_up = stream.given_up()
    assert given_up is not None and given_up.code == "client_too_slow"
    await stream.aclose()


async def test_a_stream_that_ends_is_not_given_up_and_its_writer_lives_on() -> None:
    stream = ReadAhead("p", Source([0, 0]).chunks(), limits(idle=0.1))
    stream.attach_writer()
    stream.start()
    assert len(await drain(stream)) == 3
    await asyncio.sleep(0.3)
    assert stream.given_up() is None
    await stream.aclose()
