"""Quart's ASGI handling of one HTTP request, ending when its request task does.

Quart runs a request as two tasks: one answers, one reads the messages from the server, and
the request ends when both have. The reader stops only at `http.disconnect`, which the server
sends once the response has ended. A response cut short from inside (a stream given up
because its client stopped reading, a response timeout) never ends at the server, so the
request waited for the client, perhaps forever, holding the server's stream open. Here the
reader stops when the answering task ends, so the app returns and the server closes the
response it did not finish (HTTP/2 resets the stream, HTTP/1.1 closes the connection).
"""

from __future__ import annotations

import asyncio

from hypercorn.typing import ASGIReceiveCallable
from quart.asgi import ASGIHTTPConnection
from quart.wrappers import Request


class RequestTaskBoundConnection(ASGIHTTPConnection):
    """Quart's `ASGIHTTPConnection`, with the message reader bound to the request task."""

    async def handle_messages(
        self, request: Request, receive: ASGIReceiveCallable, request_task: asyncio.Task[None]
    ) -> None:
        """Read the server's messages until the disconnect, or until the request task ends."""
        reader = asyncio.current_task()
        stopped = False

        def stop_reading(_: asyncio.Task[None]) -> None:
            nonlocal stopped
            if reader is not None and not reader.done():
                stopped = True
                reader.cancel()

        request_task.add_done_callback(stop_reading)
        try:
            await super().handle_messages(request, receive, request_task)
        except asyncio.CancelledError:
            if not stopped or reader is None or reader.uncancel() > 0:
                raise
        finally:
            request_task.remove_done_callback(stop_reading)
