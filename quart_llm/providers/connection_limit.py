"""A provider's own limit on connections, when the operator sets one (`max_connections`).

A request waits at most `pool_wait_seconds` for a connection; past that it is refused with
503 `overloaded`: the gateway's own resource ran out, so it is never an upstream timeout,
never an upstream error in the metrics, never a mark on a breaker. Probes do not count:
health must answer however busy the pool is. Without a limit (the default) nothing waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from quart_llm.errors import Overloaded


class ConnectionLimit:
    """At most `limit` exchanges at once with one provider (None: no limit)."""

    def __init__(self, provider: str, limit: int | None, wait_seconds: float) -> None:
        self._provider = provider
        self._limit = limit
        self._wait = wait_seconds
        self._slots = asyncio.Semaphore(limit) if limit else None

    @asynccontextmanager
    async def slot(self, exempt: bool = False) -> AsyncIterator[None]:
        """Hold a connection slot for the block (none is needed when `exempt`)."""
        slots = self._slots
        if slots is None or exempt:
            yield
            return
        try:
            async with asyncio.timeout(self._wait):
                await slots.acquire()
        except TimeoutError:
            raise Overloaded(
                f"All {self._limit} connections to provider {self._provider!r} are busy; "
                "retry shortly."
            ) from None
        try:
            yield
        finally:
            slots.release()
