"""The items of a streamed answer, as each wire format frames them.

A provider's stream parser is fed items, not bytes: the data of each Server-Sent Event, or
each NDJSON line. Framing is on bytes before any decoding (see `framing`), bounded by a line
limit, so an upstream can neither tear a character nor grow a line without bound.
"""

from __future__ import annotations

from quart_llm.providers.wire.framing import NDJSONLineFramer
from quart_llm.providers.wire.sse_decoder import SSEParser


class StreamItems:
    """Items completed by each piece of a body; `finish()` gives what the end completes."""

    unit: str = "an item"
    """How an error names one item ("an event was too long")."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes

    def feed(self, piece: bytes) -> list[str] | list[bytes]:
        """The items `piece` completed; raises `LineTooLongError`."""
        raise NotImplementedError

    def finish(self) -> list[str] | list[bytes]:
        """The items the end of the body completes."""
        return []


class SSEData(StreamItems):
    """The data of each event; an event not closed by a blank line at the end is dropped."""

    unit = "an event"

    def __init__(self, max_line_bytes: int) -> None:
        super().__init__(max_line_bytes)
        self._parser = SSEParser(max_line_bytes=max_line_bytes)

    def feed(self, piece: bytes) -> list[str]:
        return self._parser.feed(piece)


class NDJSONLines(StreamItems):
    """Each non-blank line; the last one may lack its newline."""

    unit = "a line"

    def __init__(self, max_line_bytes: int) -> None:
        super().__init__(max_line_bytes)
        self._framer = NDJSONLineFramer(max_line_bytes)

    def feed(self, piece: bytes) -> list[bytes]:
        return self._framer.feed(piece)

    def finish(self) -> list[bytes]:
        tail = self._framer.flush()
        return [tail] if tail is not None else []
