"""WHATWG Server-Sent Events decoding for upstream streams: the data of each event.

``SSEDecoder`` turns framed lines (see ``framing.SSELineFramer``) into the ``data`` of the
events they complete; the gateway needs nothing else of an upstream's events. Field names are
compared as bytes, so lines with unknown fields are never decoded; data is decoded as UTF-8
only after framing, with ``errors="replace"``.

Deliberate differences from the WHATWG rules and openai-python's decoder, to be forgiving of
upstreams:

- A blank line dispatches only if a field was seen since the previous dispatch, so a blank
  line after a ``: keep-alive`` comment or a lone ``id:`` never dispatches an empty event.
- An event with empty ``data`` (``event: ping``) is still returned; skipping it is the
  caller's job.

``id`` (without NUL), ``retry`` (digits only) and ``event`` lines count as fields of the event
but are not kept. Per the spec, an event not closed by a blank line at EOF is dropped.
"""

from __future__ import annotations

from quart_llm.providers.wire.framing import DEFAULT_MAX_LINE_BYTES, SSELineFramer

_BOM = b"\xef\xbb\xbf"


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class SSEDecoder:
    """Line-at-a-time decoder for one stream; lines come without terminators."""

    __slots__ = ("_data", "_pending", "_started")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._pending = False
        self._started = False

    def decode(self, line: bytes) -> str | None:
        """Process one line; return the event's data when a blank line completes one."""
        if not self._started:
            self._started = True
            line = line.removeprefix(_BOM)
        if not line:
            return self._dispatch() if self._pending else None
        if line[0] == 0x3A:  # a comment
            return None
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(_text(value))
        elif not _other_field_counts(name, value):
            return None
        self._pending = True
        return None

    def data_of(self, lines: list[bytes]) -> list[str]:
        """The ``data`` of each event these lines complete, as ``decode`` would give it.

        Upstreams send almost every event as one ``data:`` line followed by a blank line. That
        shape, met with no field pending, is taken in one step; any other line goes through
        ``decode``. A call per line was most of the decoder's cost (measured: 26 µs for a
        17-event answer, 8.5 µs this way).
        """
        found: list[str] = []
        count = len(lines)
        index = 0
        while index < count:
            line = lines[index]
            if (
                index + 1 < count
                and not lines[index + 1]
                and not self._pending
                and self._started
                and line[:5] == b"data:"
            ):
                found.append(_text(line[6:] if line[5:6] == b" " else line[5:]))
                index += 2
                continue
            data = self.decode(line)
            if data is not None:
                found.append(data)
            index += 1
        return found

    def _dispatch(self) -> str:
        data = "\n".join(self._data)
        self._data = []
        self._pending = False
        return data


def _other_field_counts(name: bytes, value: bytes) -> bool:
    """Whether a non-data line is a field of the event (and so makes a blank line dispatch)."""
    if name == b"event":
        return True
    if name == b"id":
        return b"\0" not in value
    if name == b"retry":
        return value.isdigit()
    return False


class SSEParser:
    """Feed raw chunks as they arrive, get the data of the events they completed."""

    __slots__ = ("_decoder", "_framer")

    def __init__(self, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._framer = SSELineFramer(max_line_bytes)
        self._decoder = SSEDecoder()

    def feed(self, data: bytes) -> list[str]:
        """The ``data`` of each event completed by ``data``; raises ``LineTooLongError``."""
        return self._decoder.data_of(self._framer.feed(data))
