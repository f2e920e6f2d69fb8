"""A key's quotas, as the store's limits, resolved once per tier.

USD budgets are windows counted in whole micro-dollars (`lib/prices`), so the stores keep them
exactly as they keep token budgets. A key's own budgets (the key registry's `KeyQuota`) are
added to its tier's windows: tokens per day and month, and USD through `daily_and_monthly_usd`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from quart_llm.config.accounting_models import LimitsSettings, TierSettings
from quart_llm.lib.prices import to_micros
from quart_llm.quotas.stores.base import WindowLimit

DAY_SECONDS = 86_400
MONTH_SECONDS = 30 * DAY_SECONDS
"""A budget's month: 30 days, a fixed window like every budget's."""


def usd_limit(amount_usd: Decimal, period_seconds: int) -> WindowLimit:
    """A budget of `amount_usd` per `period_seconds`, as a store's window (micro-dollars)."""
    return WindowLimit(to_micros(amount_usd), period_seconds)


def daily_and_monthly_usd(
    per_day: Decimal | None, per_month: Decimal | None
) -> tuple[WindowLimit, ...]:
    """A key's USD budgets per day and per month (either may be absent), as windows."""
    budgets = ((per_day, DAY_SECONDS), (per_month, MONTH_SECONDS))
    return tuple(usd_limit(amount, period) for amount, period in budgets if amount is not None)


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """The limits of one tier, as the stores take them."""

    requests: tuple[WindowLimit, ...]
    tokens: tuple[WindowLimit, ...]
    usd: tuple[WindowLimit, ...]
    """Cost budgets, counted in micro-dollars."""
    concurrent_streams: int
    default_max_tokens: int

    @classmethod
    def from_tier(cls, tier: TierSettings) -> QuotaPolicy:
        """The policy of a tier's settings."""
        return cls(
            requests=tuple(WindowLimit(w.count, w.period_seconds) for w in tier.requests),
            tokens=tuple(WindowLimit(w.count, w.period_seconds) for w in tier.tokens),
            usd=tuple(usd_limit(w.amount, w.period_seconds) for w in tier.usd),
            concurrent_streams=tier.concurrent_streams,
            default_max_tokens=tier.default_max_tokens,
        )


_COMBINED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class KeyQuota:
    """What a key brings of its own to its policy: a tier (None: the one settings assign),
    and its token and USD budgets, as windows added to the tier's."""

    tier: str | None = None
    tokens: tuple[WindowLimit, ...] = ()
    usd: tuple[WindowLimit, ...] = ()


KeyQuotas = Callable[[str], KeyQuota | None]
"""Looks up a key's own quota by key id (the key registry's `quota_of`); in memory, never I/O."""


class PolicyBook:
    """Which policy applies to a key id: its tier's (the key's own tier, else the one
    `limits.keys` assigns, else the default; an unknown tier is the default), with the key's
    own budgets added to the tier's windows. A budget equal to one of the tier's windows is
    that window (the store counts a window by its count and period)."""

    def __init__(self, settings: LimitsSettings, key_quotas: KeyQuotas | None = None) -> None:
        self._default = QuotaPolicy.from_tier(settings.default)
        self._tiers = {name: QuotaPolicy.from_tier(tier) for name, tier in settings.tiers.items()}
        self._keys = dict(settings.keys)
        self._key_quotas = key_quotas
        self._combined: dict[
            tuple[str, tuple[WindowLimit, ...], tuple[WindowLimit, ...]], QuotaPolicy
        ] = {}

    def for_key(self, key_id: str) -> QuotaPolicy:
        """The policy of `key_id`: its tier's, with its own budgets."""
        own = self._key_quotas(key_id) if self._key_quotas is not None else None
        tier = (own.tier if own is not None else None) or self._keys.get(key_id, "default")
        policy = self._tiers.get(tier, self._default)
        if own is None or not (own.tokens or own.usd):
            return policy
        cache_key = (tier, own.tokens, own.usd)
        combined = self._combined.get(cache_key)
        if combined is None:
            if len(self._combined) >= _COMBINED_CACHE_SIZE:
                self._combined.clear()
            combined = self._combined[cache_key] = replace(
                policy,
                tokens=tuple(dict.fromkeys((*policy.tokens, *own.tokens))),
                usd=tuple(dict.fromkeys((*policy.usd, *own.usd))),
            )
        return combined

    def knows_tier(self, tier: str) -> bool:
        """Whether `tier` is configured ("default" always is)."""
        return tier == "default" or tier in self._tiers
