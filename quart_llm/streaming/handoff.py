"""A bounded hand-off between the read-ahead task (one producer) and the writer (one consumer)."""

from __future__ import annotations

import asyncio


class Handoff[T]:
    """A bounded FIFO for one producer and one consumer. asyncio.Queue makes four deques up
    front (3 KiB per open stream, measured) for waiters that here are never more than one of
    each. `put_nowait` assumes room: its callers check `full()` or empty the buffer first.
    Every streamed batch crosses it, so waking the other side is written out in place rather
    than called (a call per item on each side, as the paced benchmark counts them)."""

    __slots__ = ("_getter", "_items", "_putter", "_size")

    def __init__(self, size: int) -> None:
        self._items: list[T] = []
        self._size = size
        self._getter: asyncio.Future[None] | None = None
        self._putter: asyncio.Future[None] | None = None

    def empty(self) -> bool:
        """Whether nothing waits to be taken."""
        return not self._items

    def full(self) -> bool:
        """Whether a put would have to wait."""
        return len(self._items) >= self._size

    def put_nowait(self, item: T) -> None:
        """Add an item (the caller made sure there is room)."""
        self._items.append(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def get_nowait(self) -> T:
        """Take the oldest item (the caller made sure there is one)."""
        item = self._items.pop(0)
        putter = self._putter
        if putter is not None and not putter.done():
            putter.set_result(None)
        return item

    async def get(self) -> T:
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        return self.get_nowait()

    async def put(self, item: T) -> None:
        while len(self._items) >= self._size:
            self._putter = asyncio.get_running_loop().create_future()
            try:
                await self._putter
            finally:
                self._putter = None
        self.put_nowait(item)
