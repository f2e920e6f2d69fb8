"""A value loaded at most once per `max_age_seconds`; concurrent callers share one load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Refreshing[T]:
    """A value loaded by `load`, kept for `max_age_seconds`."""

    def __init__(self, load: Callable[[], Awaitable[T]], max_age_seconds: float) -> None:
        self._load = load
        self._max_age = max_age_seconds
        self._value: T | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh_value(self) -> T | None:
        if self._value is not None and time.monotonic() - self._loaded_at < self._max_age:
            return self._value
        return None

    async def get(self) -> T:
        value = self._fresh_value()
        if value is not None:
            return value
        async with self._lock:
            value = self._fresh_value()
            if value is None:
                value = self._value = await self._load()
                self._loaded_at = time.monotonic()
            return value
