"""The gateway's Quart class: Quart, remembering which of its functions are coroutine functions.

Quart passes every hook, view and error handler through `ensure_async` each time it calls
one, and `ensure_async` asks `inspect.iscoroutinefunction`, which unwraps bound methods and
partials and looks for markers on every call: seven times a request, about 4 % of the app's
own time per answer in the benchmark's profile (the gateway's hooks and views are all
coroutine functions). Here the verdict is kept for each function that has been asked
about, up to `_REMEMBERED` of them (a hook list is short and lives as long as the app; a
function made per call would never be found again, so the set stops growing instead of
holding on to them; a callable that cannot be hashed is asked every time, as Quart asks).
A synchronous function is wrapped as Quart wraps it, every time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import iscoroutinefunction
from typing import Any, ParamSpec, TypeVar, cast, overload

from quart import Quart

P = ParamSpec("P")
T = TypeVar("T")
_REMEMBERED = 1024


class GatewayQuart(Quart):
    """Quart with `ensure_async`'s verdict remembered per coroutine function."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutine_functions: set[Callable[..., Any]] = set()

    @overload
    def ensure_async(self, func: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]: ...

    @overload
    def ensure_async(self, func: Callable[P, T]) -> Callable[P, Awaitable[T]]: ...

    def ensure_async(
        self, func: Callable[P, Awaitable[T]] | Callable[P, T]
    ) -> Callable[P, Awaitable[T]]:
        known = self._coroutine_functions
        hashable = type(func).__hash__ is not None  # Hashable's test, without an ABC check
        if hashable and func in known:
            return cast("Callable[P, Awaitable[T]]", func)
        if iscoroutinefunction(func):
            if hashable and len(known) < _REMEMBERED:
                known.add(func)
            return cast("Callable[P, Awaitable[T]]", func)
        return self.sync_to_async(cast("Callable[P, T]", func))
