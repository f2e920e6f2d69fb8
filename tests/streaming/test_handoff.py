"""The hand-off between the read-ahead task and the writer."""

from __future__ import annotations

import asyncio

from quart_llm.streaming.handoff import Handoff


async def test_the_buffer_makes_a_producer_wait_for_room_and_a_consumer_for_items() -> None:
    buffer: Handoff[str] = Handoff(2)
    buffer.put_nowait("a")
    buffer.put_nowait("b")
    assert buffer.full()
    blocked_put = asyncio.create_task(buffer.put("c"))
    await asyncio.sleep(0.01)
    assert not blocked_put.done()
    first = buffer.get_nowait()
    await asyncio.wait_for(blocked_put, 1)
    assert first == "a"
    assert [await buffer.get(), await buffer.get()] == ["b", "c"]
    waiting_get = asyncio.create_task(buffer.get())
    await asyncio.sleep(0.01)
    assert not waiting_get.done()
    buffer.put_nowait("end")
    assert await asyncio.wait_for(waiting_get, 1) == "end"
