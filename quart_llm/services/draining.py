"""Graceful shutdown, done by the app because Hypercorn cannot (its graceful timeout is not
enforced on Python >= 3.12: shutdown waits for every open connection).

On SIGTERM the gateway stops taking work (new requests and health get 503, the listening
sockets close), lets answers in flight finish for up to `shutdown_grace_seconds`, then ends
each remaining stream with one final error event saying the server is shutting down and
cancels the whole answers still waiting, so the process exits promptly.
"""

from __future__ import annotations

import asyncio
import logging
import time

from quart_llm.errors import ServiceUnavailable
from quart_llm.streaming.readahead import ReadAhead

logger = logging.getLogger("quart_llm.draining")
SHUTTING_DOWN = "server_shutting_down"
"""The error code of work refused or ended by a shutdown."""


def shutting_down_error() -> ServiceUnavailable:
    """The 503 for work refused or ended by a shutdown."""
    return ServiceUnavailable(
        "The server is shutting down; retry the request.",
        code=SHUTTING_DOWN,
        headers={"Retry-After": "1"},
    )


class Drainer:
    """The answers and streams in flight, and how they end at shutdown."""

    def __init__(self) -> None:
        self.draining = False
        self.forced = False
        self._streams: set[ReadAhead] = set()
        self._answers: set[asyncio.Task[object]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        """Answers and streams in flight."""
        return len(self._streams) + len(self._answers)

    def refuse_if_draining(self) -> None:
        """Raise the shutdown's 503 while draining."""
        if self.draining:
            raise shutting_down_error()

    def add_stream(self, stream: ReadAhead) -> None:
        """Track a stream until it ends."""
        self._streams.add(stream)
        self._idle.clear()

    def remove_stream(self, stream: ReadAhead) -> None:
        """A stream has ended."""
        self._streams.discard(stream)
        self._update_idle()

    def add_answer(self, task: asyncio.Task[object]) -> None:
        """Track the task of a whole answer until it ends."""
        self._answers.add(task)
        self._idle.clear()

    def remove_answer(self, task: asyncio.Task[object]) -> None:
        """A whole answer has ended."""
        self._answers.discard(task)
        self._update_idle()

    def _update_idle(self) -> None:
        if not self._streams and not self._answers:
            self._idle.set()

    async def drain(self, grace_seconds: float) -> None:
        """Stop taking work, wait up to `grace_seconds`, then end what is left."""
        self.draining = True
        started = time.monotonic()
        logger.info("draining: %d answers in flight, grace %g s", self.in_flight, grace_seconds)
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            self.forced = True
            logger.warning("grace period over: ending %d answers", self.in_flight)
            for stream in list(self._streams):
                stream.abort(shutting_down_error())
            for task in list(self._answers):
                task.cancel()
        logger.info("drained in %.2f s", time.monotonic() - started)
