"""Incremental line framers for upstream byte streams (SSE and NDJSON).

Framing happens on bytes, before any UTF-8 decoding, so a multi-byte character split across
network chunks is never torn, and only the real terminators split a line: U+0085, U+2028 and
U+2029 may appear raw inside JSON strings and are data (httpx's ``aiter_lines`` splits on them).

Each ``feed`` does a constant number of C-level passes over the new chunk (``in``, ``replace``,
``split``) and never rescans bytes already buffered. Only the unterminated tail of the stream is
kept, in one ``bytearray`` that is appended to in place, so a long line arriving in many small
chunks costs amortised linear time instead of re-copying a growing prefix.

SSE accepts CRLF, LF and lone CR. A CR is treated as a terminator as soon as it is seen (so a
stream using lone CRs is not delayed by a chunk); if the next chunk then starts with LF, that LF
is the second half of the same CRLF and is skipped.

A framer that raised ``LineTooLongError`` has dropped its buffer and must not be fed again.
"""

from __future__ import annotations

from typing import NoReturn

DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024


class LineTooLongError(ValueError):
    """A line, terminated or still buffered, exceeded the configured limit."""

    def __init__(self, max_line_bytes: int) -> None:
        super().__init__(f"line exceeds the limit of {max_line_bytes} bytes")
        self.max_line_bytes = max_line_bytes


class _LineBuffer:
    """The unterminated tail of the stream and the length limit shared by both framers."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        if max_line_bytes < 1:
            raise ValueError("max_line_bytes must be positive")
        self._buf = bytearray()
        self._max = max_line_bytes

    def _split(self, data: bytes) -> list[bytes]:
        """Split LF-terminated ``data``; return complete lines and keep the tail buffered."""
        lines = data.split(b"\n")
        tail = lines.pop()
        buf = self._buf
        if lines:
            if buf:
                buf += lines[0]
                lines[0] = bytes(buf)
                buf.clear()
            if max(map(len, lines)) > self._max:
                self._fail()
        buf += tail
        if len(buf) > self._max:
            self._fail()
        return lines

    def _take_tail(self) -> bytes:
        tail = bytes(self._buf)
        self._buf.clear()
        return tail

    def _fail(self) -> NoReturn:
        self._buf.clear()
        raise LineTooLongError(self._max)


class SSELineFramer(_LineBuffer):
    """Split an event stream into lines on CRLF, LF or lone CR (terminators removed)."""

    __slots__ = ("_skip_lf",)

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(max_line_bytes)
        self._skip_lf = False

    def feed(self, data: bytes) -> list[bytes]:
        """Return the lines completed by ``data``; empty lines are kept (they dispatch events)."""
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
        if not data:
            return []
        if b"\r" in data:
            self._skip_lf = data[-1] == 0x0D
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return self._split(data)

    def flush(self) -> bytes | None:
        """At EOF, return the unterminated last line, or None if there is none."""
        self._skip_lf = False
        return self._take_tail() or None


class NDJSONLineFramer(_LineBuffer):
    """Split NDJSON on LF only; strip one trailing CR per line and skip blank lines."""

    __slots__ = ()

    def feed(self, data: bytes) -> list[bytes]:
        """Return the non-blank lines completed by ``data``."""
        if not data:
            return []
        return [line.removesuffix(b"\r") for line in self._split(data) if line and line != b"\r"]

    def flush(self) -> bytes | None:
        """At EOF, return the unterminated last line, or None if it is absent or blank."""
        return self._take_tail().removesuffix(b"\r") or None
