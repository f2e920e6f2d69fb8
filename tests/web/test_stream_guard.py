"""The ASGI guard closes the stream a request answered with once the server is done with it."""

from __future__ import annotations

from typing import Any

from quart_llm.services.chat_streaming import EventStream
from quart_llm.web.responses import STREAM_SCOPE_KEY
from quart_llm.web.stream_guard import ClosesUnsentStreams


async def no_events() -> Any:
    yield b""  # pragma: no cover - never read


async def test_the_stream_of_a_request_is_closed_after_the_app_returns() -> None:
    closed: list[str] = []

    async def close() -> None:
        closed.append("closed")

    stream = EventStream(no_events(), {}, close)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope[STREAM_SCOPE_KEY] = stream

    await ClosesUnsentStreams(app)({"type": "http"}, None, None)
    assert closed == ["closed"]


async def test_other_requests_pass_through_untouched() -> None:
    calls: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"])

    await ClosesUnsentStreams(app)({"type": "lifespan"}, None, None)
    await ClosesUnsentStreams(app)({"type": "http"}, None, None)
    assert calls == ["lifespan", "http"]
