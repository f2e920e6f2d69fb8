"""The HTTP/2 overrides of `server/http2.py` as units: the stream buffer's pop rule, the reset
budget, and their installation by `create_app`."""

from __future__ import annotations

import asyncio

import hypercorn.protocol
from hypercorn.asyncio.worker_context import EventWrapper
from hypercorn.protocol import h2 as hypercorn_h2
from hypercorn.protocol.h2 import BUFFER_HIGH_WATER, BUFFER_LOW_WATER

from quart_llm import create_app
from quart_llm.server.http2 import FlowControlledStreamBuffer, GuardedH2Protocol, ResetBudget

HypercornStreamBuffer = FlowControlledStreamBuffer.__mro__[1]


async def writer_waits(pushing: asyncio.Task[None]) -> bool:
    """Whether the push is still waiting once the loop has had a few turns."""
    for _ in range(5):
        await asyncio.sleep(0)
    return not pushing.done()


async def test_a_push_waits_while_a_zero_window_pops_nothing() -> None:
    buffer = FlowControlledStreamBuffer(EventWrapper)
    pushing = asyncio.create_task(buffer.push(b"x" * BUFFER_HIGH_WATER))
    assert await writer_waits(pushing)
    for _ in range(3):
        assert await buffer.pop(0) == b""
        assert await writer_waits(pushing), "nothing left: the writer still waits"
    assert len(await buffer.pop(BUFFER_HIGH_WATER // 4)) == BUFFER_HIGH_WATER // 4
    assert len(buffer.buffer) >= BUFFER_LOW_WATER
    assert await writer_waits(pushing), "still above the low-water mark"
    await buffer.pop(BUFFER_HIGH_WATER // 2)
    assert len(buffer.buffer) < BUFFER_LOW_WATER
    await asyncio.wait_for(pushing, 1)


async def test_closing_the_buffer_lets_a_waiting_writer_go() -> None:
    buffer = FlowControlledStreamBuffer(EventWrapper)
    pushing = asyncio.create_task(buffer.push(b"x" * BUFFER_HIGH_WATER))
    assert await writer_waits(pushing)
    await buffer.close()
    await asyncio.wait_for(pushing, 1)
    assert buffer.buffer == bytearray()


async def test_hypercorns_own_buffer_still_lets_the_writer_go_on_an_empty_pop() -> None:
    """The bug the override fixes. When this fails, Hypercorn has fixed it: drop the override."""
    buffer = HypercornStreamBuffer(EventWrapper)
    pushing = asyncio.create_task(buffer.push(b"x" * BUFFER_HIGH_WATER))
    assert await writer_waits(pushing)
    assert await buffer.pop(0) == b""
    assert not await writer_waits(pushing)
    assert len(buffer.buffer) == BUFFER_HIGH_WATER


def test_the_reset_budget_allows_a_burst_then_its_rate() -> None:
    now = [0.0]
    budget = ResetBudget(rate=2.0, burst=5, clock=lambda: now[0])
    assert budget.spend(5)
    assert not budget.spend(1)
    now[0] += 1.0  # two more, one of them owed
    assert budget.spend(1)
    assert not budget.spend(1)
    now[0] += 60.0  # never more than the burst
    assert budget.spend(5)
    assert not budget.spend(1)


def test_create_app_installs_the_overrides_for_every_way_of_serving() -> None:
    create_app()
    assert hypercorn.protocol.H2Protocol is GuardedH2Protocol  # type: ignore[attr-defined]
    assert hypercorn_h2.StreamBuffer is FlowControlledStreamBuffer
