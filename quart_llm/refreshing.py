"""A value loaded at most once per `max_age_seconds`; concurrent callers share one load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Refreshing[T]:
    def __init__(self, load: Callable[[], Awaitable[T]], max_age_seconds: float) -> None:
        self._load = load
        self._max_age = max_age_seconds
        self._value: T | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._loaded_at < self._max_age

    async def get(self) -> T:
        if self._fresh() and self._value is not None:
            return self._value
        async with self._lock:
            if self._value is None or not self._fresh():
                self._value = await self._load()
                self._loaded_at = time.monotonic()
            return self._value
