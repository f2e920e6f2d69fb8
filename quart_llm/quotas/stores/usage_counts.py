"""What the quota stores count of answered requests, per key: requests and tokens, in fixed
windows and in total."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One answered request, as it counts against its key."""

    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    estimated: bool


@dataclass(slots=True)
class UsageCounters:
    """Requests and tokens counted over some time, in all and by `provider/model`."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated_requests: int = 0
    by_model: dict[str, UsageCounters] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """A key's usage in the current fixed window of one period."""

    period_seconds: int
    window_start: int
    """Unix seconds at which this fixed window began."""
    counters: UsageCounters


@dataclass(frozen=True, slots=True)
class UsageReport:
    """A key's usage in the current window of each period, and in total."""

    windows: tuple[WindowUsage, ...]
    total: UsageCounters
