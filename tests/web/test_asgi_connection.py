"""A request ends with its request task, even when the server never says the client left."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypercorn.typing import HTTPScope
from quart import Quart
from quart.asgi import ASGIHTTPConnection

from quart_llm.web.asgi_connection import RequestTaskBoundConnection


def scope() -> HTTPScope:
    return {
        "type": "http",
        "asgi": {"spec_version": "2.1", "version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},  # type: ignore[typeddict-item]
        "extensions": {},
    }


def app_cut_short() -> Quart:
    """An app whose request task is cancelled from inside, as a given-up stream's is."""
    app = Quart(__name__)

    @app.get("/")
    async def cut_short() -> str:
        task = asyncio.current_task()
        if task is not None:
            task.cancel()
        await asyncio.sleep(0)
        return "never"

    return app


async def serve_once(connection_class: type[ASGIHTTPConnection], timeout: float) -> list[Any]:
    """One request; the server sends its body, then nothing (no `http.disconnect`)."""
    messages: asyncio.Queue[Any] = asyncio.Queue()
    await messages.put({"type": "http.request", "body": b"", "more_body": False})
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    connection = connection_class(app_cut_short(), scope())
    await asyncio.wait_for(connection(messages.get, send), timeout)
    return sent


async def test_the_request_ends_when_its_request_task_does() -> None:
    assert await serve_once(RequestTaskBoundConnection, 2) == []


async def test_quarts_own_connection_waits_for_a_disconnect_that_never_comes() -> None:
    """What the subclass is for. When this fails, Quart ends the request itself."""
    with pytest.raises(TimeoutError):
        await serve_once(ASGIHTTPConnection, 0.3)
