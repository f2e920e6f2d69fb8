"""A key's quotas, as the store's limits, resolved once per tier.

USD budgets are windows counted in whole micro-dollars (`lib/prices`), so the stores keep them
exactly as they keep token budgets. A key's own budgets (a registry of keys) become limits
through `daily_and_monthly_usd` and join its policy with `dataclasses.replace(policy, usd=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from quart_llm.config.models import LimitsSettings, TierSettings
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


class PolicyBook:
    """Which policy applies to a key id."""

    def __init__(self, settings: LimitsSettings) -> None:
        self._default = QuotaPolicy.from_tier(settings.default)
        self._tiers = {name: QuotaPolicy.from_tier(tier) for name, tier in settings.tiers.items()}
        self._keys = dict(settings.keys)

    def for_key(self, key_id: str) -> QuotaPolicy:
        """The policy of `key_id`'s tier (the default tier unless one is assigned)."""
        tier = self._keys.get(key_id, "default")
        return self._tiers.get(tier, self._default)
