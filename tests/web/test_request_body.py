from __future__ import annotations

from quart_llm.web.request_body import ReadBody


async def test_a_body_read_whole_can_be_awaited_and_iterated_once() -> None:
    body = ReadBody(b'{"a":1}')
    assert await body == b'{"a":1}'
    assert [piece async for piece in body] == [b'{"a":1}']
    assert [piece async for piece in body] == []
    body.disconnect()
    body.set_complete()
    assert await body == b'{"a":1}'
