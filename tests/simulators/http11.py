"""HTTP/1.1 request parsing over a buffered connection reader that notices a peer close."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_LINE = 16 * 1024
MAX_HEADERS = 100
MAX_BODY = 256 * 1024 * 1024
READ_SIZE = 64 * 1024


class BadRequestError(Exception):
    """The bytes on the connection are not an HTTP/1.1 request we accept."""


@dataclass(frozen=True)
class RequestHead:
    method: str
    target: str
    version: str
    headers: dict[str, str]

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    @property
    def keep_alive(self) -> bool:
        tokens = {token.strip().lower() for token in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


class ConnReader:
    """Buffered reader; records when the peer closes unless the server closed first."""

    def __init__(
        self, reader: asyncio.StreamReader, on_peer_close: Callable[[float], None]
    ) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self._on_peer_close = on_peer_close
        self.server_closing = False
        self.peer_closed_at: float | None = None
        self.eof = False

    async def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            data = await self._reader.read(READ_SIZE)
        except (ConnectionError, OSError):
            data = b""
        if data:
            self._buffer += data
            return True
        self.eof = True
        if not self.server_closing:
            self.peer_closed_at = time.monotonic()
            self._on_peer_close(self.peer_closed_at)
        return False

    async def watch(self) -> None:
        while await self._fill():
            pass

    async def readline(self) -> bytes | None:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE:
                raise BadRequestError("line too long")
            if not await self._fill():
                return None

    async def readexactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise BadRequestError("connection closed inside the body")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


async def read_head(reader: ConnReader) -> RequestHead | None:
    line = await reader.readline()
    while line in (b"\r\n", b"\n"):
        line = await reader.readline()
    if line is None:
        return None
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequestError(f"bad request line {line!r}")
    return RequestHead(parts[0], parts[1], parts[2], await read_headers(reader))


async def read_headers(reader: ConnReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = await reader.readline()
        if line is None:
            raise BadRequestError("connection closed inside the headers")
        if line in (b"\r\n", b"\n"):
            return headers
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequestError(f"bad header line {line!r}")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    raise BadRequestError("too many headers")


async def read_body(reader: ConnReader, head: RequestHead) -> bytes:
    if "chunked" in head.headers.get("transfer-encoding", "").lower():
        return await read_chunked(reader)
    length_text = head.headers.get("content-length", "0").strip()
    if not length_text.isdigit() or int(length_text) > MAX_BODY:
        raise BadRequestError(f"bad content-length {length_text!r}")
    return await reader.readexactly(int(length_text))


async def read_chunked(reader: ConnReader) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readline()
        if line is None:
            raise BadRequestError("connection closed inside a chunk size")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequestError(f"bad chunk size {line!r}") from None
        if size == 0:
            await read_headers(reader)
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise BadRequestError("body too large")
        body += await reader.readexactly(size)
        if await reader.readline() not in (b"\r\n", b"\n"):
            raise BadRequestError("chunk not followed by CRLF")
