"""The one read loop of streamed answers: items framed from the body, parsed into chunks.

Each upstream read completes some items (see `wire.stream_items`); the chunks they give go on
as one batch, so the cost of a hop through the read-ahead is paid once a read, not once a
chunk. A failure comes after the chunks parsed before it, as it would have one at a time.
The end rule is the same for every wire format: a body that ends before the answer's end
marker is a failure unless the parser says the answer is whole (`complete`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

from quart_llm.errors import UpstreamError, UpstreamProtocolError
from quart_llm.providers.answers import StreamChunk
from quart_llm.providers.upstream_bodies import drain_after_end
from quart_llm.providers.upstream_errors import in_band_error
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.providers.wire.framing import LineTooLongError
from quart_llm.providers.wire.stream_items import StreamItems


class StreamParser:
    """Turns the items of one streamed answer into chunks; an adapter makes one per stream.

    The read loop sets `started` once a chunk has been handed on; a parser sets `done` when
    the upstream's end marker arrives. What the upstream says in its errors is shown only
    through `upstream_text` (`reported`).
    """

    def __init__(self, provider: str, upstream_text: UpstreamText) -> None:
        self.provider = provider
        self.upstream_text = upstream_text
        self.started = False
        self.done = False

    @property
    def complete(self) -> bool:
        """Whether an answer whose body ended here is whole (the end marker is required)."""
        return self.done

    def feed(self, item: str | bytes, into: list[StreamChunk]) -> None:
        """Append the chunks of one item (an SSE event's data, an NDJSON line)."""
        raise NotImplementedError

    def error(self, message: str, upstream_status: int | None = None) -> UpstreamError:
        """The error, in the gateway's own words, for a failure the upstream reported inside
        its answer."""
        return in_band_error(self.provider, message, started=self.started, status=upstream_status)

    def reported(self, upstream_message: str, upstream_status: int | None = None) -> UpstreamError:
        """The error for a failure the upstream described in its own words (excerpted)."""
        return self.error(self.upstream_text.excerpt(upstream_message), upstream_status)

    def broken(self, message: str) -> UpstreamProtocolError:
        """The error for an answer that breaks the wire format."""
        return UpstreamProtocolError(self.provider, message)


async def read_stream(
    pieces: AsyncGenerator[bytes], items: StreamItems, parser: StreamParser
) -> AsyncGenerator[list[StreamChunk]]:
    """The batches of chunks of a body, read as it arrives; after the end marker, the bytes
    that end the body are read briefly so the connection can be reused."""
    async with aclosing(pieces):
        while not parser.done:
            piece = await anext(pieces, None)
            batch: list[StreamChunk] = []
            error = _parse_piece(parser, items, piece, batch)
            if batch:
                yield batch
            if error is not None:
                raise error
            if piece is None and not parser.done:
                if parser.complete:
                    return
                raise parser.broken("the stream ended before it was complete")
        await drain_after_end(pieces)


def _parse_piece(
    parser: StreamParser, items: StreamItems, piece: bytes | None, batch: list[StreamChunk]
) -> UpstreamError | None:
    """Parse what one read completed (`None`: the body ended) into `batch`."""
    try:
        for item in items.feed(piece) if piece is not None else items.finish():
            parser.feed(item, batch)
            if batch:
                parser.started = True
            if parser.done:
                break
    except LineTooLongError as exc:
        error = parser.broken(f"{items.unit} was too long ({exc})")
        error.__cause__ = exc
        return error
    except UpstreamError as exc:
        return exc
    return None
