from __future__ import annotations

from quart.wrappers.request import Body

from quart_llm.web.request_body import ReadBody, _arrived_body


async def test_a_body_read_whole_can_be_awaited_and_iterated_once() -> None:
    body = ReadBody(b'{"a":1}')
    assert await body == b'{"a":1}'
    assert [piece async for piece in body] == [b'{"a":1}']
    assert [piece async for piece in body] == []
    body.disconnect()
    body.set_complete()
    assert await body == b'{"a":1}'


async def test_a_body_that_has_arrived_is_taken_whole_from_quarts_queue() -> None:
    body = Body(None, None)
    await body.put(b'{"a":')
    await body.put(b"1}")
    assert _arrived_body(body) is None  # still arriving: it is waited for instead
    body.set_complete()
    assert _arrived_body(body) == b'{"a":1}'


def test_a_body_refused_by_quart_or_read_already_takes_the_waiting_path() -> None:
    refused = Body(expected_content_length=10, max_content_length=5)
    refused.set_complete()
    assert _arrived_body(refused) is None
    assert _arrived_body(ReadBody(b"{}")) is None
