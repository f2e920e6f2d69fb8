"""API keys as the gateway holds them (`ApiKey`), and the `api_keys` table's queries.

An `ApiKey` is the same whether it was made at runtime (`source` "database") or written in
settings (`source` "settings", read-only): the registry holds both in memory, the admin API
lists both. Its status is computed when asked (`status(now)`), so an expiry is in force the
moment it passes, without waiting for a refresh.

Every timestamp is UTC and timezone-aware; SQLite hands back naive ones, made aware here.
The listing is ordered by (created_at, id), and a page continues after the last (created_at,
id) it showed, so keys created meanwhile never shift a page.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from quart_llm.store.database import reaching_database
from quart_llm.store.schema import api_keys

KeyStatus = Literal["active", "revoked", "expired"]
KeySource = Literal["database", "settings"]
BUDGET_FIELDS = ("tokens_per_day", "tokens_per_month", "usd_per_day", "usd_per_month")


@dataclass(frozen=True, slots=True)
class KeyBudgets:
    """A key's own budgets (None: no budget of that kind). Tokens are enforced as token
    windows of one day and 30 days (`quotas.policy`); USD ones by the cost budgets."""

    tokens_per_day: int | None = None
    tokens_per_month: int | None = None
    usd_per_day: float | None = None
    usd_per_month: float | None = None

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> KeyBudgets:
        """Budgets from their stored JSON (unknown fields ignored)."""
        value = value or {}
        return cls(**{name: value.get(name) for name in BUDGET_FIELDS})

    def to_json(self) -> dict[str, Any]:
        """Every budget field, null when unset."""
        return {name: getattr(self, name) for name in BUDGET_FIELDS}


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key: who it is for, what it may do, and its state (never its secret)."""

    id: str
    digest: bytes
    hint: str
    name: str
    created_at: datetime
    updated_at: datetime
    source: KeySource = "database"
    owner: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    tier: str | None = None
    allowed_models: tuple[str, ...] | None = None
    budgets: KeyBudgets = KeyBudgets()
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> KeyStatus:
        """Revoked, expired (its expiry has passed), or active."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def allows_model(self, *names: str) -> bool:
        """Whether any of `names` (the model asked for, the provider/model it resolved to)
        matches one of the key's patterns (`fnmatch`, case-sensitive); every model when the
        key names none."""
        if self.allowed_models is None:
            return True
        return any(
            fnmatch.fnmatchcase(name, pattern) for name in names for pattern in self.allowed_models
        )

    def to_row(self) -> dict[str, Any]:
        """The key as a row of `api_keys`."""
        return {
            "id": self.id,
            "digest": self.digest,
            "hint": self.hint,
            "name": self.name,
            "owner": self.owner,
            "metadata": self.metadata,
            "tier": self.tier,
            "allowed_models": None if self.allowed_models is None else list(self.allowed_models),
            "budgets": self.budgets.to_json(),
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "revoked_at": self.revoked_at,
        }

    @classmethod
    def from_row(cls, row: RowMapping) -> ApiKey:
        """A key read from `api_keys`."""
        allowed = row["allowed_models"]
        return cls(
            id=row["id"],
            digest=bytes(row["digest"]),
            hint=row["hint"],
            name=row["name"],
            owner=row["owner"],
            metadata=dict(row["metadata"] or {}),
            tier=row["tier"],
            allowed_models=None if allowed is None else tuple(allowed),
            budgets=KeyBudgets.from_json(row["budgets"]),
            expires_at=aware(row["expires_at"]),
            created_at=_required(aware(row["created_at"])),
            updated_at=_required(aware(row["updated_at"])),
            revoked_at=aware(row["revoked_at"]),
        )


def aware(value: datetime | None) -> datetime | None:
    """A timestamp as aware UTC (SQLite returns naive UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _required(value: datetime | None) -> datetime:
    if value is None:
        raise ValueError("a required timestamp is missing")
    return value


@dataclass(frozen=True, slots=True)
class KeyFilter:
    """What a listing keeps: every field None keeps everything."""

    status: KeyStatus | None = None
    owner: str | None = None
    name: str | None = None

    def keeps(self, key: ApiKey, now: datetime) -> bool:
        """The same test as `where`, for keys held in memory."""
        return (
            (self.status is None or key.status(now) == self.status)
            and (self.owner is None or key.owner == self.owner)
            and (self.name is None or key.name == self.name)
        )

    def where(self, query: Select[Any], now: datetime) -> Select[Any]:
        """`query` narrowed to the kept rows."""
        table = api_keys.c
        if self.owner is not None:
            query = query.where(table.owner == self.owner)
        if self.name is not None:
            query = query.where(table.name == self.name)
        not_expired = or_(table.expires_at.is_(None), table.expires_at > now)
        if self.status == "revoked":
            query = query.where(table.revoked_at.is_not(None))
        elif self.status == "expired":
            query = query.where(table.revoked_at.is_(None), table.expires_at <= now)
        elif self.status == "active":
            query = query.where(table.revoked_at.is_(None), not_expired)
        return query


class ApiKeyTable:
    """The queries of `api_keys`, each in its own transaction; `DatabaseUnavailable` when the
    database cannot be reached."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def insert(self, key: ApiKey) -> None:
        with reaching_database():
            async with self.engine.begin() as connection:
                await connection.execute(api_keys.insert().values(**key.to_row()))

    async def get(self, key_id: str) -> ApiKey | None:
        with reaching_database():
            async with self.engine.connect() as connection:
                result = await connection.execute(select(api_keys).where(api_keys.c.id == key_id))
                row = result.mappings().first()
        return None if row is None else ApiKey.from_row(row)

    async def page(
        self,
        keys: KeyFilter,
        now: datetime,
        limit: int,
        after: tuple[datetime, str] | None = None,
    ) -> list[ApiKey]:
        """Up to `limit` kept keys, oldest first, after the (created_at, id) `after`."""
        query = keys.where(select(api_keys), now)
        if after is not None:
            created, key_id = after
            table = api_keys.c
            query = query.where(
                or_(
                    table.created_at > created,
                    and_(table.created_at == created, table.id > key_id),
                )
            )
        query = query.order_by(api_keys.c.created_at, api_keys.c.id).limit(limit)
        with reaching_database():
            async with self.engine.connect() as connection:
                rows = (await connection.execute(query)).mappings().all()
        return [ApiKey.from_row(row) for row in rows]

    async def changed_since(self, since: datetime | None) -> list[ApiKey]:
        """Every key updated at or after `since` (all of them when None)."""
        query = select(api_keys)
        if since is not None:
            query = query.where(api_keys.c.updated_at >= since)
        with reaching_database():
            async with self.engine.connect() as connection:
                rows = (await connection.execute(query)).mappings().all()
        return [ApiKey.from_row(row) for row in rows]

    async def update(self, key_id: str, changes: Mapping[str, Any]) -> ApiKey | None:
        """Apply `changes` (row values, `updated_at` among them) to a key; the key after."""
        with reaching_database():
            return await self._update(key_id, changes)

    async def _update(self, key_id: str, changes: Mapping[str, Any]) -> ApiKey | None:
        async with self.engine.begin() as connection:
            result = await connection.execute(
                api_keys.update().where(api_keys.c.id == key_id).values(**changes)
            )
            if result.rowcount == 0:
                return None
            row = (
                (await connection.execute(select(api_keys).where(api_keys.c.id == key_id)))
                .mappings()
                .one()
            )
        return ApiKey.from_row(row)

    async def revoke(self, key_id: str, now: datetime) -> ApiKey | None:
        """Revoke a key (a revoked key stays revoked: its first revocation time is kept)."""
        with reaching_database():
            return await self._revoke(key_id, now)

    async def _revoke(self, key_id: str, now: datetime) -> ApiKey | None:
        async with self.engine.begin() as connection:
            await connection.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now, updated_at=now)
            )
            row = (
                (await connection.execute(select(api_keys).where(api_keys.c.id == key_id)))
                .mappings()
                .first()
            )
        return None if row is None else ApiKey.from_row(row)
