"""Reads a provider's batch iterator ahead in its own task, under the request's deadline.

Why a task and a queue: the SSE writer must send keep-alive comments while the upstream is
silent, and cancelling an `anext()` on timeout would kill the upstream generator. The task
reads ahead into a small bounded queue, so a slow client applies back-pressure all the way to
the upstream socket and memory per stream stays bounded.

Every ending puts exactly one terminal item in the queue: `END`, or the exception that ended
the stream (upstream errors, and time limits turned into UpstreamTimeout).

A reader that takes nothing for `idle` seconds while the queue is full (its client stopped
reading) is given up on: the upstream is closed, and the task writing the stream to the client
(`attach_writer`) is cancelled wherever it waits, so the response ends too (`client_too_slow`).

Time limits and keep-alives are watched by one timer each per stream, not by a timeout scope
per item: the item path only notes the time. A timer that fires early (there was progress)
re-arms itself for the new due time, so the limits are exact while the cost per item is a
clock read instead of a timer scheduled and cancelled twice (what the benchmark measured).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Final

from quart_llm.errors import (
    GatewayError,
    ServiceUnavailable,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.providers.answers import StreamChunk
from quart_llm.routing.deadline import Deadline
from quart_llm.streaming.handoff import Handoff

logger = logging.getLogger("quart_llm.stream")

END: Final = object()
HEARTBEAT: Final = object()
"""Put in the queue when nothing else was for the keep-alive interval."""
QUEUE_SIZE = 8
CLIENT_TOO_SLOW = "client_too_slow"
"""The error code of a stream given up because its client stopped reading."""
_EARLY = 0.001
"""Timers may run this much before their time (the loop's clock resolution and rounding)."""

Batch = list[StreamChunk]
StreamItem = Batch | GatewayError | object


class _ReaderGone(Exception):
    """The watchdog's verdict: the reader took nothing for `idle` seconds."""


class ReadAhead:
    """Read-ahead of one upstream answer; `aclose()` cancels it and closes the upstream."""

    def __init__(self, provider: str, batches: AsyncIterator[Batch], deadline: Deadline) -> None:
        self.provider = provider
        self._batches = batches
        self._limits = deadline
        self._queue: Handoff[StreamItem] = Handoff(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self._first = True
        self._waiting_for_reader = False
        self._progress_at = 0.0
        self._expires_at = deadline.expires_at
        self._verdict: UpstreamTimeout | _ReaderGone | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._abandoned = False
        self._writer: asyncio.Task[object] | None = None
        self._heartbeat: asyncio.TimerHandle | None = None
        self._heartbeat_interval = 0.0
        self._last_item_at = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._progress_at = self._last_item_at = now
        self._task = loop.create_task(self._pump())
        self._watchdog = loop.call_at(self._due(), self._watch)

    async def next(self, timeout: float | None = None) -> StreamItem:
        """The next batch, END or the ending error; TimeoutError if none within `timeout`."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout is None:
            return await self._queue.get()
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    async def get(self) -> StreamItem:
        """The next item, HEARTBEAT after `heartbeat()`'s interval without one, or an error
        once the stream was given up because its reader stopped reading."""
        queue = self._queue
        if not queue.empty():
            return queue.get_nowait()
        if self._abandoned:
            return self._given_up_error()
        return await queue.get()

    def given_up(self) -> ServiceUnavailable | None:
        """The `client_too_slow` error once the stream was given up because its reader
        stopped reading, else None."""
        return self._given_up_error() if self._abandoned else None

    def _given_up_error(self) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"the stream was given up: the client read nothing for {self._limits.idle:g} s",
            code=CLIENT_TOO_SLOW,
        )

    def attach_writer(self) -> None:
        """The current task writes this stream to its client: giving the stream up cancels
        it, wherever it waits (in the server's send, when the client stopped reading), so
        the response ends with the stream instead of outliving it."""
        self._writer = asyncio.current_task()

    def ready(self) -> StreamItem | None:
        """The next item if it has already arrived, else None (never waits)."""
        return None if self._queue.empty() else self._queue.get_nowait()

    def heartbeat(self, interval: float) -> None:
        """From now on, `get()` returns HEARTBEAT when nothing came for `interval` seconds."""
        loop = asyncio.get_running_loop()
        self._heartbeat_interval = interval
        self._last_item_at = max(self._last_item_at, loop.time())
        self._heartbeat = loop.call_at(self._last_item_at + interval, self._beat)

    def abort(self, error: GatewayError) -> None:
        """End the stream now with `error` as its terminal item (used when shutting down)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(error)

    async def aclose(self) -> None:
        self._stop_timers()
        task = self._task
        if task is None:
            await self._close_batches()
            return
        if not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        try:
            async for batch in self._batches:
                self._progress_at = now = loop.time()
                if self._first:
                    self._first = False
                    self._rearm_if_sooner(loop)
                if queue.full():
                    await self._offer(batch, loop)
                else:  # `_offer`'s common case, written out: it runs once per upstream read
                    queue.put_nowait(batch)
                    self._last_item_at = now
            await self._offer(END, loop)
        except asyncio.CancelledError:
            verdict = self._verdict
            task = asyncio.current_task()
            if verdict is None or task is None or task.uncancel() > 0:
                raise
            if isinstance(verdict, _ReaderGone):
                self._give_up()
                return
            await self._offer_last(verdict)
        except GatewayError as error:
            await self._offer_last(error)
        except Exception as error:
            logger.exception("provider %s failed while streaming", self.provider)
            await self._offer_last(
                UpstreamProtocolError(self.provider, f"unexpected failure ({type(error).__name__})")
            )
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
            await self._close_batches()

    async def _offer(self, item: StreamItem, loop: asyncio.AbstractEventLoop) -> None:
        """Queue an item; while the queue is full the watchdog times the reader instead."""
        if self._queue.full():
            self._waiting_for_reader = True
            self._rearm_if_sooner(loop)
            try:
                await self._queue.put(item)
            finally:
                self._waiting_for_reader = False
                self._progress_at = loop.time()
        else:
            self._queue.put_nowait(item)
        self._last_item_at = self._progress_at

    async def _offer_last(self, item: GatewayError) -> None:
        """The terminal error: waits for room (briefly) rather than dropping it."""
        try:
            async with asyncio.timeout(self._limits.idle):
                await self._queue.put(item)
        except TimeoutError:
            self._give_up()

    def _give_up(self) -> None:
        logger.warning("stream from %s abandoned: the reader stopped reading", self.provider)
        self._abandoned = True
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()

    def _due(self) -> float:
        if self._waiting_for_reader:
            return self._progress_at + self._limits.idle
        limit = self._limits.first_byte if self._first else self._limits.idle
        return min(self._progress_at + limit, self._expires_at)

    def _rearm_if_sooner(self, loop: asyncio.AbstractEventLoop) -> None:
        due = self._due()
        if self._watchdog is not None and self._watchdog.when() > due:
            self._watchdog.cancel()
            self._watchdog = loop.call_at(due, self._watch)

    def _watch(self) -> None:
        self._watchdog = None
        task = self._task
        if task is None or task.done():
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self._due()
        if now + _EARLY < due:
            self._watchdog = loop.call_at(due, self._watch)
            return
        if self._waiting_for_reader:
            self._verdict = _ReaderGone()
        else:
            self._verdict = self._timeout(self._first, due >= self._expires_at)
        task.cancel()

    def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = self._last_item_at + self._heartbeat_interval
        if now + _EARLY >= due:
            if self._queue.empty():
                self._queue.put_nowait(HEARTBEAT)
                self._last_item_at = now
            # Otherwise the reader has items waiting and needs no keep-alive.
            due = now + self._heartbeat_interval
        self._heartbeat = loop.call_at(due, self._beat)

    def _stop_timers(self) -> None:
        for timer in (self._watchdog, self._heartbeat):
            if timer is not None:
                timer.cancel()
        self._watchdog = self._heartbeat = None

    async def _close_batches(self) -> None:
        close = getattr(self._batches, "aclose", None)
        if close is not None:
            await close()

    def _timeout(self, first: bool, total: bool) -> UpstreamTimeout:
        if total:
            return UpstreamTimeout(
                self.provider, f"no complete answer within {self._limits.total:g} s"
            )
        if first:
            return UpstreamTimeout(
                self.provider, f"no first token within {self._limits.first_byte:g} s"
            )
        return UpstreamTimeout(self.provider, f"no data for {self._limits.idle:g} s")
