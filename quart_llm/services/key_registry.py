"""`KeyRegistry`: every API key, held in memory, so authenticating never waits on the database.

It holds the keys of settings (static, read-only) and a snapshot of the `api_keys` table,
which `services.key_refresh` keeps current. A key is found by the SHA-256 digest of what the
client presented, in one dictionary lookup: the digests of random secrets (and of settings'
keys) are what is looked up, so the lookup's timing says nothing about any key. The snapshot
is replaced whole (never changed in place), so a request sees one consistent version.

A revoked key, or one past its expiry, is refused with its own code (`key_revoked`,
`key_expired`); its expiry is compared when the request comes, so it needs no refresh.
The registry also answers what the quota policy asks of a key (`quota_of`): its tier and its
token and USD budgets as windows of one day and of 30 days.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import SecretStr

from quart_llm.errors import AuthenticationFailed
from quart_llm.quotas.policy import DAY_SECONDS, MONTH_SECONDS, KeyQuota, daily_and_monthly_usd
from quart_llm.quotas.stores.base import WindowLimit
from quart_llm.services.keys import HASHED_PREFIX, Principal, key_id_for_digest
from quart_llm.store.api_keys import ApiKey

_HINT_MIN_LENGTH = 16


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def static_keys(keys: Iterable[SecretStr], tiers: Mapping[str, str], now: datetime) -> list[ApiKey]:
    """The keys of settings as `ApiKey`s (`source` "settings"), named by their place there."""
    found: list[ApiKey] = []
    for index, key in enumerate(keys):
        value = key.get_secret_value()
        if value.startswith(HASHED_PREFIX):
            digest = bytes.fromhex(value.removeprefix(HASHED_PREFIX))
            hint = f"{HASHED_PREFIX}…{digest.hex()[-4:]}"
        else:
            digest = hashlib.sha256(value.encode()).digest()
            hint = f"…{value[-4:]}" if len(value) >= _HINT_MIN_LENGTH else "…"
        key_id = key_id_for_digest(digest)
        found.append(
            ApiKey(
                id=key_id,
                digest=digest,
                hint=hint,
                name=f"api_keys[{index}]",
                created_at=now,
                updated_at=now,
                source="settings",
                tier=tiers.get(key_id),
            )
        )
    return found


class KeyRegistry:
    """The accepted API keys, by digest and by id (the same interface as `KeyRing`)."""

    kind = "API key"
    code_suffix = "api_key"

    def __init__(
        self,
        keys: Iterable[SecretStr],
        tiers: Mapping[str, str],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._clock = clock
        self.static = {key.digest: key for key in static_keys(keys, tiers, clock())}
        self._static_ids = {key.id for key in self.static.values()}
        self._stored: dict[str, ApiKey] = {}
        self._by_digest: dict[bytes, ApiKey] = dict(self.static)
        self._by_id: dict[str, ApiKey] = {}
        self._quotas: dict[str, KeyQuota] = {}
        self._install({})

    def __len__(self) -> int:
        return len(self._by_digest)

    def now(self) -> datetime:
        """The registry's clock (aware UTC)."""
        return self._clock()

    def authenticate(self, key: str) -> Principal:
        """The caller presenting `key`; AuthenticationFailed (never echoing it) otherwise."""
        found = self._by_digest.get(hashlib.sha256(key.encode()).digest())
        if found is None:
            raise AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        status = found.status(self._clock())
        if status != "active":
            raise AuthenticationFailed(f"This API key is {status}.", code=f"key_{status}")
        return Principal(key_id=found.id, key=found)

    def key(self, key_id: str) -> ApiKey | None:
        """The key named `key_id`, as last refreshed."""
        return self._by_id.get(key_id)

    def static_keys(self) -> list[ApiKey]:
        """The keys of settings, by id."""
        return sorted(self.static.values(), key=lambda key: key.id)

    def is_static(self, key_id: str) -> bool:
        """Whether `key_id` is a key of settings."""
        return key_id in self._static_ids

    def replace_stored(self, keys: Iterable[ApiKey]) -> bool:
        """Hold exactly `keys` as the database's keys (a full reload); whether anything
        changed (an unchanged table installs nothing)."""
        stored = {key.id: key for key in keys}
        if stored == self._stored:
            return False
        self._install(stored)
        return True

    def update_stored(self, keys: Iterable[ApiKey]) -> bool:
        """Hold `keys` over the ones of the same id; whether anything changed."""
        changed = {key.id: key for key in keys if self._stored.get(key.id) != key}
        if changed:
            self._install({**self._stored, **changed})
        return bool(changed)

    def _install(self, stored: dict[str, ApiKey]) -> None:
        by_digest = {key.digest: key for key in stored.values() if key.digest not in self.static}
        by_digest.update(self.static)
        self._stored = stored
        self._by_digest = by_digest
        previous, self._by_id = self._by_id, {key.id: key for key in by_digest.values()}
        quotas: dict[str, KeyQuota] = {}
        for key in by_digest.values():
            # a key held before (the same object) keeps its quota: only changes cost anything
            quota = self._quotas.get(key.id) if previous.get(key.id) is key else key_quota(key)
            if quota is not None:
                quotas[key.id] = quota
        self._quotas = quotas

    def quota_of(self, key_id: str) -> KeyQuota | None:
        """What the quota policy takes from a key: its tier, its token budgets as windows
        (worked out when the snapshot is installed: this is on every request's path)."""
        return self._quotas.get(key_id)


def key_quota(key: ApiKey) -> KeyQuota | None:
    """A key's tier and budgets, as the quota policy takes them (None: nothing own)."""
    budgets = key.budgets
    tokens = tuple(
        WindowLimit(count, period)
        for count, period in (
            (budgets.tokens_per_day, DAY_SECONDS),
            (budgets.tokens_per_month, MONTH_SECONDS),
        )
        if count is not None
    )
    usd = daily_and_monthly_usd(_decimal(budgets.usd_per_day), _decimal(budgets.usd_per_month))
    if key.tier is None and not tokens and not usd:
        return None
    return KeyQuota(tier=key.tier, tokens=tokens, usd=usd)


def _decimal(amount: float | None) -> Decimal | None:
    """A budget in USD as the exact decimal it was written as (None stays None)."""
    return None if amount is None else Decimal(str(amount))
