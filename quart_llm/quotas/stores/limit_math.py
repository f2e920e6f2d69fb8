"""The arithmetic of limits, shared by both stores so they round identically: GCRA for request
limits (times in whole microseconds), fixed windows for token budgets."""

from __future__ import annotations

from collections.abc import Sequence

from quart_llm.quotas.stores.base import LimitState, WindowLimit

MICROS = 1_000_000


def check_limits(limits: Sequence[WindowLimit]) -> None:
    """Refuse a limit no store can keep (ValueError)."""
    for limit in limits:
        if limit.count < 1 or limit.period_seconds < 1:
            raise ValueError(f"a limit needs count >= 1 and period >= 1 s, not {limit}")


def emission_interval_us(limit: WindowLimit) -> int:
    """`period / count` rounded to whole microseconds (at least 1).

    The tolerance is `(count - 1) * interval` rather than `period - interval`, so a burst of
    exactly `count` requests passes and the next one fails whatever the rounding.
    """
    return max(1, (limit.period_seconds * MICROS + limit.count // 2) // limit.count)


def request_state(limit: WindowLimit, reset_us: int) -> LimitState:
    """The state of a GCRA limit whose TAT is `reset_us` microseconds ahead of now."""
    interval = emission_interval_us(limit)
    remaining = (limit.count * interval - reset_us) // interval
    return LimitState(limit, min(max(remaining, 0), limit.count), reset_us / MICROS)


def token_state(limit: WindowLimit, window: int, used: int, now: float) -> LimitState:
    """The state of a token budget with `used` units spent in fixed window `window`."""
    reset = (window + 1) * limit.period_seconds - now
    return LimitState(limit, max(limit.count - used, 0), reset)


def settled_tokens(used: int, delta: int, count: int, overdraft: int) -> int:
    """A token window's units after a settlement of `delta`: never below zero, and a charge
    beyond the reservation takes the window at most `overdraft` past its `count` (a window
    already further past, through another settlement, is not lowered by a charge).

    Every reservation fits its window when admitted, so with `overdraft` set to the settled
    reservation a window never exceeds its budget by more than one request's reservation."""
    settled = max(used + delta, 0)
    if delta > 0:
        settled = max(used, min(settled, count + overdraft))
    return settled
