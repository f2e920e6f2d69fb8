"""Event streams end even when their body is never sent.

Quart opens a response body only once it starts sending it; a client that leaves between the
view's return and the first byte leaves a stream whose events never run, so its own `finally`
never closes the upstream or settles its quotas. This ASGI wrapper closes, once the server is
done with a request, the stream it answered with; for a stream that ran, that is a no-op.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart_llm.services.chat_streaming import EventStream
from quart_llm.web.responses import STREAM_SCOPE_KEY

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class ClosesUnsentStreams:
    """Wraps an ASGI app; see the module."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            stream = scope.get(STREAM_SCOPE_KEY)
            if isinstance(stream, EventStream):
                await stream.aclose()
