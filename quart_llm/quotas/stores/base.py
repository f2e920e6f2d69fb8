"""The quota store interface: every operation is atomic and all-or-nothing.

Request limits use GCRA (the algorithm of quart-rate-limiter): one theoretical arrival time
(TAT) per key and limit, a burst of up to `count` requests, then one request every
`period / count`. Token budgets use fixed windows (window number = floor(now / period)):
a reservation is admitted only if it fits in every window, and is later settled against the
same windows with the real usage. Concurrency caps are leases with an expiry, renewed while a
stream runs, so a crashed replica's streams free their slots by themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from quart_llm.quotas.stores.usage_counts import UsageRecord, UsageReport


class QuotaBackendUnavailable(Exception):
    """The store cannot be reached (Redis down or too slow)."""


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """At most `count` units (requests or tokens) per `period_seconds`."""

    count: int
    period_seconds: int


@dataclass(frozen=True, slots=True)
class LimitState:
    """A limit's allowance after a decision."""

    limit: WindowLimit
    remaining: int
    reset_seconds: float
    """Seconds until the whole allowance is available again."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A store's answer to a request or a reservation, with every limit's state after it."""

    allowed: bool
    states: tuple[LimitState, ...]
    """One per limit, in the order given, after the decision."""
    refused_by: WindowLimit | None = None
    retry_after_seconds: float = 0.0
    windows: tuple[int, ...] = ()
    """For token reservations: the window number of each limit, to settle against later."""


class QuotaStore(ABC):
    """Shared quota state. Every method raises QuotaBackendUnavailable when unreachable."""

    async def start(self) -> None:
        """Connect; called when serving starts."""

    async def close(self) -> None:
        """Disconnect; called when serving stops."""

    kind = "memory"
    """What holds the state, as the status report names it."""

    async def reachable(self) -> bool:
        """Whether the store answers now (a store in this process always does)."""
        return True

    @abstractmethod
    async def hit_request_limits(self, subject: str, limits: Sequence[WindowLimit]) -> Decision:
        """Count one request against every limit (GCRA), or against none if any refuses."""

    @abstractmethod
    async def reserve_tokens(
        self, subject: str, limits: Sequence[WindowLimit], amount: int
    ) -> Decision:
        """Add `amount` to every limit's current window, or to none if any would overflow."""

    async def settle_tokens(
        self,
        subject: str,
        limits: Sequence[WindowLimit],
        windows: Sequence[int],
        delta: int,
        *,
        overdraft: int = 0,
    ) -> None:
        """Apply `delta` (real usage minus reservation, may be negative) to the windows of a
        reservation; a window that has already expired is left alone. A positive delta takes
        a window at most `overdraft` past its count (`limit_math.settled_tokens`)."""
        if len(limits) != len(windows):
            raise ValueError("one window per limit")
        if limits and delta:
            reserved = list(zip(limits, windows, strict=True))
            await self._settle_windows(subject, reserved, delta, overdraft)

    @abstractmethod
    async def _settle_windows(
        self, subject: str, reserved: Sequence[tuple[WindowLimit, int]], delta: int, overdraft: int
    ) -> None:
        """`settle_tokens` for a non-zero delta: each reserved limit with its window."""

    @abstractmethod
    async def acquire_lease(
        self, subject: str, cap: int, lease_id: str, ttl_seconds: float
    ) -> tuple[bool, int]:
        """Take one of `cap` slots for `ttl_seconds`; returns (granted, slots in use after)."""

    @abstractmethod
    async def renew_leases(self, leases: Mapping[str, Sequence[str]], ttl_seconds: float) -> None:
        """Extend live leases (subject → lease ids) by `ttl_seconds` from now."""

    @abstractmethod
    async def release_lease(self, subject: str, lease_id: str) -> None:
        """Free a slot at once (idempotent)."""

    @abstractmethod
    async def record_usage(self, subject: str, record: UsageRecord, periods: Sequence[int]) -> None:
        """Add one answered request to the total and to the current window of each period."""

    @abstractmethod
    async def read_usage(self, subject: str, periods: Sequence[int]) -> UsageReport:
        """The subject's usage in the current window of each period, and in total."""
