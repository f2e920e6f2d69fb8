"""HTTP/2 bounded whatever the client does: Hypercorn 0.18's HTTP/2 protocol with three fixes,
installed by `install` (called by `create_app`, so `quart-llm serve` and Hypercorn's own
command line, `hypercorn "quart_llm:create_app()"`, both get them).

**Flow control.** Hypercorn holds each stream's response in a `StreamBuffer` until the client's
window lets it out; the app's send waits once `BUFFER_HIGH_WATER` bytes wait, until a `pop()`
lets it go on. Hypercorn lets it go on when the *popped* chunk is shorter than the low-water
mark, which an empty pop always is, and a pop is empty exactly when the client grants no
window; as every send also wakes the sender, which pops nothing, every send returned at once
and the server kept the whole answer (measured: RSS up 50 to 140 MB/s for one stream).
`FlowControlledStreamBuffer` lets the writer go on once what *remains* is under the low-water
mark, so a stream holds less than the high-water mark (32 KiB) plus two writes, and a stalled
writer reaches the read-ahead's `client_too_slow` watchdog.

**A response the app did not finish** (a stream given up on, a response timeout) is reset
(RST_STREAM INTERNAL_ERROR), and the bytes held for it are dropped. Hypercorn left the stream
open forever: the client waited for an end that never came.

**Rapid reset** (CVE-2023-44487), in the spirit of nginx's, Envoy's and Go's mitigations: each
connection has a budget of streams the client may cancel before their response has ended
(`http2.reset_burst` at once, `http2.resets_per_second` on average); past it the connection
gets GOAWAY (ENHANCE_YOUR_CALM) and is closed, and nothing more it sent is parsed: a read is
parsed `READ_SLICE` bytes at a time, the budget checked after each slice. A stream opened and
cancelled within one read never reaches the app at all.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import h2.errors
import h2.events
import h2.exceptions
import hypercorn.protocol
from hypercorn.events import Closed, Event, RawData
from hypercorn.protocol import h2 as hypercorn_h2
from hypercorn.protocol.events import Event as StreamEvent
from hypercorn.protocol.events import StreamClosed

from quart_llm.config.models import HTTP2Settings
from quart_llm.services.container import Services
from quart_llm.web.context import SERVICES_KEY

logger = logging.getLogger("quart_llm.http2")
READ_SLICE = 4 * 1024
"""Bytes of a read parsed at a time. A read is up to 64 KiB: some 400 streams opened and reset,
a few milliseconds of parsing; a slice keeps each step of an abusive connection short."""


class FlowControlledStreamBuffer(hypercorn_h2.StreamBuffer):
    """Hypercorn's stream buffer with the pop rule fixed: the paused writer goes on when what
    remains is under the low-water mark, not when what was taken is (an empty pop, under a
    zero window, took nothing and freed nothing)."""

    async def pop(self, max_length: int) -> bytes:
        """Take up to `max_length` bytes for the wire (what the client's window allows)."""
        length = min(len(self.buffer), max_length)
        data = bytes(self.buffer[:length])
        del self.buffer[:length]
        if len(self.buffer) < hypercorn_h2.BUFFER_LOW_WATER:
            await self._paused.set()
        if not self.buffer:
            await self._is_empty.set()
        return data


class ResetBudget:
    """A token bucket of stream resets: `burst` at once, refilled at `rate` a second."""

    __slots__ = ("_burst", "_clock", "_rate", "_tokens", "_updated_at")

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._updated_at = clock()

    def spend(self, resets: int) -> bool:
        """Count `resets` more; False once the client has reset more than the budget allows."""
        now = self._clock()
        refill = (now - self._updated_at) * self._rate
        self._tokens = min(self._burst, self._tokens + refill) - resets
        self._updated_at = now
        return self._tokens >= 0


class GuardedH2Protocol(hypercorn_h2.H2Protocol):
    """Hypercorn's HTTP/2 connection with a reset budget, and responses the app did not
    finish reset instead of left open (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = _limits_of(self.app)
        self._resets = ResetBudget(self._limits.resets_per_second, self._limits.reset_burst)
        self._calmed = False

    async def handle(self, event: Event) -> None:
        """Hypercorn's handling, but a read is parsed READ_SLICE bytes at a time with the
        client's resets counted after each slice, so a connection over its budget is stopped
        within a slice rather than after a whole read's worth of frames."""
        if not isinstance(event, RawData):
            await super().handle(event)
            return
        events: list[h2.events.Event] = []
        opened: set[int] = set()
        for start in range(0, len(event.data), READ_SLICE):
            if self._calmed:
                return
            try:
                parsed = self.connection.receive_data(event.data[start : start + READ_SLICE])
            except h2.exceptions.ProtocolError:
                await self._flush()
                await self.send(Closed())
                return
            events += parsed
            opened.update(e.stream_id for e in parsed if isinstance(e, h2.events.RequestReceived))
            if not self._resets.spend(len(self._client_resets(parsed, opened))):
                await self._calm_down()
                return
        await self._handle_events(events)

    async def stream_send(self, event: StreamEvent) -> None:
        """What a stream sends; a stream whose app ended before its response did is reset."""
        if isinstance(event, StreamClosed):
            await self._reset_if_unfinished(event.stream_id)
        await super().stream_send(event)

    def _client_resets(self, events: list[h2.events.Event], opened: set[int]) -> set[int]:
        """The streams the client cancelled in these events before their response ended: open
        at the app, or opened in the same read."""
        return {
            e.stream_id
            for e in events
            if isinstance(e, h2.events.StreamReset)
            and e.remote_reset
            and (e.stream_id in opened or e.stream_id in self.streams)
        }

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        """Hypercorn's handling of one read's events, without the streams the client opened
        and cancelled within them: their requests never reach the app."""
        opened = {e.stream_id for e in events if isinstance(e, h2.events.RequestReceived)}
        abandoned = opened & self._client_resets(events, opened)
        kept: list[h2.events.Event] = []
        for event in events:
            stream_id = getattr(event, "stream_id", None)
            unread = stream_id in abandoned or not (
                stream_id in self.streams or stream_id in opened
            )
            if isinstance(event, h2.events.DataReceived) and unread:
                # No stream takes these bytes; the connection's window still gets them back.
                self.connection.acknowledge_received_data(
                    event.flow_controlled_length, event.stream_id
                )
            elif stream_id not in abandoned:
                kept.append(event)
        await super()._handle_events(kept)

    async def _calm_down(self) -> None:
        """GOAWAY (ENHANCE_YOUR_CALM), then close; the streams end when the socket does."""
        self._calmed = True
        logger.warning(
            "HTTP/2 client %s reset streams faster than %g a second (burst %d): GOAWAY",
            self.client[0] if self.client else "?",
            self._limits.resets_per_second,
            self._limits.reset_burst,
        )
        self.connection.close_connection(error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
        await self._flush()
        await self.send(Closed())

    async def _reset_if_unfinished(self, stream_id: int) -> None:
        """Reset a stream whose response never ended and drop what it still holds; the send
        task forgets the stream when it next looks at it (as after a client's reset)."""
        buffer = self.stream_buffers.get(stream_id)
        if buffer is None or buffer.complete or stream_id not in self.streams:
            return
        with contextlib.suppress(h2.exceptions.ProtocolError):  # closed already
            self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
        await buffer.close()
        await self._window_updated(stream_id)
        await self._flush()


def _limits_of(app: object) -> HTTP2Settings:
    """The gateway's HTTP/2 limits, from the app Hypercorn serves (the defaults otherwise)."""
    framework = getattr(app, "app", None)
    extensions = getattr(framework, "extensions", None)
    services = extensions.get(SERVICES_KEY) if isinstance(extensions, dict) else None
    if isinstance(services, Services):
        return services.settings.http2
    return HTTP2Settings()


def install() -> None:
    """Make Hypercorn build `GuardedH2Protocol` for HTTP/2 connections (ALPN, h2c prior
    knowledge and upgrade alike: `ProtocolWrapper` builds them all from `hypercorn.protocol`)
    and its streams' buffers `FlowControlledStreamBuffer`. Idempotent."""
    setattr(hypercorn.protocol, "H2Protocol", GuardedH2Protocol)  # noqa: B010
    hypercorn_h2.StreamBuffer = FlowControlledStreamBuffer  # type: ignore[misc]
