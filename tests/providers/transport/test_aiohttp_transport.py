"""The httpx transport over aiohttp, against raw loopback servers that misbehave on purpose:
its failures are aiohttp's own, and `upstream_errors` maps each to a gateway error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.providers.transport.aiohttp_transport import AiohttpTransport
from quart_llm.providers.transport.errors import upstream_errors
from tests.support.ports import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class RawServer:
    """Counts connections; each is served by `handler`."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.closed = asyncio.Event()
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        finally:
            writer.close()
            self.closed.set()


async def read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[RawServer, str]]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> tuple[RawServer, str]:
        raw = RawServer(handler)
        server = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return raw, f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def read_all(client: AiohttpTransport, url: str, *, read: float = 0.2) -> bytes:
    response = await send(client, url, read=read)
    try:
        return b"".join([piece async for piece in body(response)])
    finally:
        await response.aclose()


def body(response: httpx.Response) -> httpx.AsyncByteStream:
    assert isinstance(response.stream, httpx.AsyncByteStream)
    return response.stream


def transport() -> AiohttpTransport:
    return AiohttpTransport(httpx.Limits(max_connections=4, keepalive_expiry=30))


async def send(
    transport: AiohttpTransport, url: str, *, read: float | None = 5.0
) -> httpx.Response:
    request = httpx.Request(
        "POST",
        url + "/v1/x",
        headers={"Authorization": "Bearer up", "Content-Type": "application/json"},
        content=b'{"a":1}',
        extensions={"timeout": {"connect": 1.0, "read": read, "write": 1.0, "pool": 1.0}},
    )
    return await transport.handle_async_request(request)


async def test_sends_exactly_the_headers_given_and_reuses_a_drained_connection(
    serve: Callable[[Handler], Awaitable[tuple[RawServer, str]]],
) -> None:
    heads: list[bytes] = []

    async def answer_twice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            head = await read_head(reader)
            heads.append(head)
            await reader.readexactly(7)
            writer.write(ANSWER)
            await writer.drain()

    server, url = await serve(answer_twice)
    client = transport()
    try:
        for _ in range(2):
            response = await send(client, url)
            assert response.status_code == 200
            assert b"".join([piece async for piece in body(response)]) == b"{}"
            await response.aclose()
    finally:
        await client.aclose()
    assert server.connections == 1
    head = heads[0].lower()
    assert b"authorization: bearer up\r\n" in head
    assert b"content-length: 7\r\n" in head
    assert b"accept-encoding" not in head
    assert b"cookie" not in head


async def test_closing_a_response_early_drops_its_connection(
    serve: Callable[[Handler], Awaitable[tuple[RawServer, str]]],
) -> None:
    async def stream_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await reader.read()  # returns when the client hangs up

    server, url = await serve(stream_forever)
    client = transport()
    try:
        response = await send(client, url)
        pieces = aiter(body(response))
        assert await anext(pieces) == b"abc"
        await response.aclose()
        await asyncio.wait_for(server.closed.wait(), 2)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("behaviour", "expected", "message"),
    [
        ("hang-up-before-answer", UpstreamProtocolError, "closed the connection unexpectedly"),
        ("garbage", UpstreamProtocolError, "broke the HTTP protocol"),
        ("short-body", UpstreamProtocolError, "lost while reading"),
        ("silent", UpstreamTimeout, "timed out waiting for data"),
    ],
)
async def test_failures_are_aiohttps_own_and_map_to_gateway_errors(
    serve: Callable[[Handler], Awaitable[tuple[RawServer, str]]],
    behaviour: str,
    expected: type[UpstreamError],
    message: str,
) -> None:
    async def misbehave(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        if behaviour == "garbage":
            writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        elif behaviour == "short-body":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        elif behaviour == "silent":
            await asyncio.sleep(2)
        await writer.drain()

    _, url = await serve(misbehave)
    client = transport()
    try:
        with pytest.raises(expected) as info, upstream_errors("up"):
            await read_all(client, url, read=0.2)
    finally:
        await client.aclose()
    assert isinstance(info.value.__cause__, aiohttp.ClientError)
    assert message in info.value.message
    assert "127.0.0.1" not in info.value.message


async def test_a_refused_connection_is_a_connect_error() -> None:
    client = transport()
    try:
        with pytest.raises(UpstreamConnectError) as info, upstream_errors("up"):
            await send(client, f"http://127.0.0.1:{free_port()}")
    finally:
        await client.aclose()
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorError)
    assert info.value.status == 503
