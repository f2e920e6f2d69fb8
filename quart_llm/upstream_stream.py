"""Runs a provider's chunk iterator in its own task, under the provider's time limits.

Why a task and a queue: the SSE writer must send keep-alive comments while the upstream is
silent, and cancelling an `anext()` on timeout would kill the upstream generator. The task
reads ahead into a small bounded queue, so a slow client applies back-pressure all the way to
the upstream socket and memory per stream stays bounded.

Every ending puts exactly one terminal item in the queue: `END`, or the exception that ended
the stream (upstream errors, and time limits turned into UpstreamTimeout).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Final

from quart_llm.config import ProviderTimeouts
from quart_llm.errors import GatewayError, UpstreamProtocolError, UpstreamTimeout
from quart_llm.providers.types import StreamChunk

logger = logging.getLogger("quart_llm.stream")

END: Final = object()
QUEUE_SIZE = 8

StreamItem = StreamChunk | GatewayError | object


class UpstreamStream:
    """Read-ahead of one upstream answer; `aclose()` cancels it and closes the upstream."""

    def __init__(
        self, provider: str, chunks: AsyncIterator[StreamChunk], timeouts: ProviderTimeouts
    ) -> None:
        self.provider = provider
        self._chunks = chunks
        self._timeouts = timeouts
        self._queue: asyncio.Queue[StreamItem] = asyncio.Queue(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def next(self, timeout: float | None = None) -> StreamItem:
        """The next chunk, END or the ending error; TimeoutError if none within `timeout`."""
        if not self._queue.empty():
            return self._queue.get_nowait()
        if timeout is None:
            return await self._queue.get()
        async with asyncio.timeout(timeout):
            return await self._queue.get()

    def ready(self) -> StreamItem | None:
        """The next item if it has already arrived, else None (never waits)."""
        return None if self._queue.empty() else self._queue.get_nowait()

    def abort(self, error: GatewayError) -> None:
        """End the stream now with `error` as its terminal item (used when shutting down)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(error)

    async def aclose(self) -> None:
        task = self._task
        if task is None:
            await self._close_chunks()
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
        total_deadline = loop.time() + self._timeouts.total
        first = True
        try:
            while True:
                limit = self._timeouts.first_byte if first else self._timeouts.idle
                wait_until = min(loop.time() + limit, total_deadline)
                try:
                    async with asyncio.timeout_at(wait_until):
                        chunk = await anext(self._chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise self._timeout(first, loop.time() >= total_deadline) from None
                first = False
                if not await self._offer(chunk):
                    return
            await self._offer(END)
        except GatewayError as error:
            await self._offer(error)
        except Exception as error:
            logger.exception("provider %s failed while streaming", self.provider)
            await self._offer(
                UpstreamProtocolError(self.provider, f"unexpected failure ({type(error).__name__})")
            )
        finally:
            await self._close_chunks()

    async def _offer(self, item: StreamItem) -> bool:
        """Queue an item; a reader that takes nothing for `idle` seconds is given up on."""
        if not self._queue.full():
            self._queue.put_nowait(item)
            return True
        try:
            async with asyncio.timeout(self._timeouts.idle):
                await self._queue.put(item)
        except TimeoutError:
            logger.warning("stream from %s abandoned: the reader stopped reading", self.provider)
            return False
        return True

    async def _close_chunks(self) -> None:
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()

    def _timeout(self, first: bool, total: bool) -> UpstreamTimeout:
        if total:
            return UpstreamTimeout(
                self.provider, f"no complete answer within {self._timeouts.total:g} s"
            )
        if first:
            return UpstreamTimeout(
                self.provider, f"no first token within {self._timeouts.first_byte:g} s"
            )
        return UpstreamTimeout(self.provider, f"no data for {self._timeouts.idle:g} s")
