"""The response side of one request: fixed or chunked replies and deliberate faults."""

import asyncio
import socket
import struct
from collections.abc import Iterable, Sequence
from email.utils import formatdate
from http import HTTPStatus

from .http11 import ConnReader
from .recording import RecordedRequest

Headers = Sequence[tuple[str, str]]


class ClientGoneError(Exception):
    """The peer closed or reset the connection while the server was writing."""


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class Exchange:
    """Writes one response; every write is flushed before the next one starts."""

    def __init__(
        self,
        request: RecordedRequest,
        writer: asyncio.StreamWriter,
        reader: ConnReader,
        *,
        keep_alive: bool,
    ) -> None:
        self.request = request
        self._writer = writer
        self._reader = reader
        self.keep_alive = keep_alive
        self.headers_sent = False
        self.chunked = False
        self.complete = False
        self.aborted = False

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.aborted

    def close_after(self) -> None:
        self.keep_alive = False

    async def start(self, status: int, headers: Headers, content_length: int | None) -> None:
        lines = [f"HTTP/1.1 {status} {reason_phrase(status)}", f"Date: {formatdate(usegmt=True)}"]
        lines += [f"{name}: {value}" for name, value in headers]
        if content_length is None:
            lines.append("Transfer-Encoding: chunked")
            self.chunked = True
        else:
            lines.append(f"Content-Length: {content_length}")
        if not self.keep_alive:
            lines.append("Connection: close")
        self.headers_sent = True
        await self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    async def respond(self, status: int, body: bytes, headers: Headers = ()) -> None:
        await self.start(status, headers, len(body))
        if self.request.method != "HEAD":
            await self.send_raw(body)
        self.complete = True

    async def start_stream(self, status: int, headers: Headers = ()) -> None:
        await self.start(status, headers, None)

    async def send(self, data: bytes) -> None:
        if data:
            await self.send_raw(b"%x\r\n%b\r\n" % (len(data), data))

    async def send_all(self, frames: Iterable[bytes], interval: float = 0.0) -> None:
        for index, frame in enumerate(frames):
            if index and interval > 0:
                await asyncio.sleep(interval)
            await self.send(frame)

    async def end_stream(self) -> None:
        await self.send_raw(b"0\r\n\r\n")
        self.complete = True

    async def send_raw(self, data: bytes, sizes: Iterable[int] = ()) -> None:
        """Write bytes as they are, cut into pieces of the given sizes (rest in one piece)."""
        start = 0
        for size in sizes:
            await self._write(data[start : start + size])
            start += size
        if start < len(data):
            await self._write(data[start:])

    async def _write(self, data: bytes) -> None:
        if self._writer.transport.is_closing():
            raise ClientGoneError
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise ClientGoneError from exc

    async def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0, then close)."""
        self.aborted = True
        self.keep_alive = False
        self._reader.server_closing = True
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()

    async def hang(self, seconds: float) -> None:
        """Send nothing more; the connection is closed when the client goes or after `seconds`."""
        self.keep_alive = False
        await asyncio.sleep(seconds)
