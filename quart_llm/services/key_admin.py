"""What the admin API and the `keys` command do to keys: create, list, show, change, revoke.

A new key's secret is `qlm-` and 43 characters of `secrets.token_urlsafe` (256 random bits);
it is returned once and stored only as its SHA-256 digest, with a hint of its last four
characters. Its id is the key id every key has (`services.keys`), so logs, limits and usage
name it the same way whether it came from settings or from here.

The listing shows the keys of settings first (read-only, `source` "settings"), then the
database's, oldest first. Its cursor is opaque to clients: where the last page ended, as
base64url JSON. Each change is announced (`KeyAnnouncer`) after it is committed, so every
replica holds it within a second.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from quart_llm.errors import Conflict, InvalidRequest, ResourceNotFound, ServiceUnavailable
from quart_llm.quotas.policy import PolicyBook
from quart_llm.schemas.admin_keys import KeyChanges, KeyCreate, KeyListQuery
from quart_llm.services.key_registry import KeyRegistry
from quart_llm.services.keys import key_id_for_digest
from quart_llm.store.api_keys import ApiKey, ApiKeyTable, KeyBudgets, KeyFilter
from quart_llm.store.database import Database, DatabaseUnavailable

KEY_ID_SHAPE = re.compile(r"key_[0-9a-f]{12}")
"""Every key id's shape (`services.keys`): anything else names no key, and is not looked up."""
SECRET_PREFIX = "qlm-"  # noqa: S105 - the prefix of every secret, not a secret
KeyAnnouncer = Callable[[str], Awaitable[None]]


def timestamp(value: datetime | None) -> str | None:
    """An ISO 8601 UTC timestamp ending in `Z`."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def key_object(key: ApiKey, now: datetime) -> dict[str, Any]:
    """A key as the admin API shows it (never its digest)."""
    return {
        "object": "api_key",
        "id": key.id,
        "name": key.name,
        "owner": key.owner,
        "metadata": key.metadata,
        "tier": key.tier,
        "allowed_models": None if key.allowed_models is None else list(key.allowed_models),
        "budgets": key.budgets.to_json(),
        "expires_at": timestamp(key.expires_at),
        "created_at": timestamp(key.created_at),
        "updated_at": timestamp(key.updated_at),
        "revoked_at": timestamp(key.revoked_at),
        "status": key.status(now),
        "source": key.source,
        "hint": key.hint,
    }


def new_secret() -> str:
    """A new API key's secret."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _encode_cursor(key: ApiKey) -> str:
    where = ["s", key.id] if key.source == "settings" else ["d", timestamp(key.created_at), key.id]
    return base64.urlsafe_b64encode(json.dumps(where).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        where = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if where[0] == "d":
            datetime.fromisoformat(where[1])
        if where[0] not in ("s", "d") or not all(isinstance(part, str) for part in where):
            raise ValueError(cursor)
    except (ValueError, TypeError, IndexError, UnicodeEncodeError, binascii.Error):
        raise InvalidRequest(
            "Invalid cursor: pass a next_cursor as given.", param="cursor"
        ) from None
    return list(where)


def _answerable[**P, R](
    method: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """An unreachable database as a 503 `database_unavailable` (nothing was changed, or the
    change is whole: each is one transaction)."""

    @functools.wraps(method)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except DatabaseUnavailable:
            raise ServiceUnavailable(
                "The key database cannot be reached; try again shortly.",
                code="database_unavailable",
                headers={"Retry-After": "5"},
            ) from None

    return answer


@dataclass(slots=True)
class KeyAdmin:
    """Key administration over the database, the registry and the announcer of changes."""

    database: Database
    registry: KeyRegistry
    policies: PolicyBook
    announce: KeyAnnouncer

    @property
    def table(self) -> ApiKeyTable:
        return ApiKeyTable(self.database.engine)

    def _now(self) -> datetime:
        return self.registry.now()

    @_answerable
    async def create(self, data: KeyCreate) -> dict[str, Any]:
        """A new key; its object with the secret (the only time it is shown)."""
        self._check_tier(data.tier)
        secret = new_secret()
        digest = hashlib.sha256(secret.encode()).digest()
        now = self._now()
        key = ApiKey(
            id=key_id_for_digest(digest),
            digest=digest,
            hint=f"{SECRET_PREFIX}…{secret[-4:]}",
            name=data.name,
            created_at=now,
            updated_at=now,
            **_fields(data, KeyBudgets()),
        )
        await self.table.insert(key)
        await self.announce(key.id)
        return {**key_object(key, now), "secret": secret}

    @_answerable
    async def page(self, query: KeyListQuery) -> dict[str, Any]:
        """A page of keys: settings' first, then the database's, oldest first."""
        now = self._now()
        after = _decode_cursor(query.cursor) if query.cursor else None
        keep = KeyFilter(status=query.status, owner=query.owner, name=query.name)
        found: list[ApiKey] = []
        if query.source != "database" and (after is None or after[0] == "s"):
            statics = [key for key in self.registry.static_keys() if keep.keeps(key, now)]
            if after is not None:
                statics = [key for key in statics if key.id > after[1]]
            found = statics[: query.limit + 1]
        if query.source != "settings" and len(found) <= query.limit:
            since = (
                (datetime.fromisoformat(after[1]), after[2]) if after and after[0] == "d" else None
            )
            found += await self.table.page(keep, now, query.limit + 1 - len(found), since)
        more = len(found) > query.limit
        found = found[: query.limit]
        return {
            "object": "list",
            "data": [key_object(key, now) for key in found],
            "next_cursor": _encode_cursor(found[-1]) if more and found else None,
        }

    @_answerable
    async def get(self, key_id: str) -> dict[str, Any]:
        """One key's object; 404 `key_not_found`."""
        return key_object(await self._find(key_id), self._now())

    @_answerable
    async def update(self, key_id: str, data: KeyChanges) -> dict[str, Any]:
        """Set the fields sent; the key after."""
        key = await self._find(key_id, writable=True)
        if "tier" in data.model_fields_set:
            self._check_tier(data.tier)
        changes = _fields(data, key.budgets, only_sent=True)
        if "name" in changes and changes["name"] is None:
            raise InvalidRequest("Invalid request: name may not be null.", param="name")
        row = replace(key, **changes, updated_at=self._now()).to_row()
        updated = await self.table.update(
            key_id, {name: row[name] for name in (*changes, "updated_at")}
        )
        if updated is None:
            raise _not_found()
        await self.announce(key_id)
        return key_object(updated, self._now())

    @_answerable
    async def revoke(self, key_id: str) -> dict[str, Any]:
        """Revoke a key (again: the same answer); the key after."""
        await self._find(key_id, writable=True)
        revoked = await self.table.revoke(key_id, self._now())
        if revoked is None:
            raise _not_found()
        await self.announce(key_id)
        return key_object(revoked, self._now())

    async def _find(self, key_id: str, *, writable: bool = False) -> ApiKey:
        if self.registry.is_static(key_id):
            if writable:
                raise Conflict(
                    "This key comes from settings and is read-only: change it there.",
                    code="static_key",
                )
            static = self.registry.key(key_id)
            if static is not None:
                return static
        key = await self.table.get(key_id) if KEY_ID_SHAPE.fullmatch(key_id) else None
        if key is None:
            raise _not_found()
        return key

    def _check_tier(self, tier: str | None) -> None:
        if tier is not None and not self.policies.knows_tier(tier):
            raise InvalidRequest(
                "Invalid request: tier names no configured tier (limits.tiers).",
                param="tier",
            )


def _not_found() -> ResourceNotFound:
    return ResourceNotFound("No such API key.", code="key_not_found")


def _fields(data: KeyChanges, budgets: KeyBudgets, *, only_sent: bool = False) -> dict[str, Any]:
    """The `ApiKey` fields a create or change sets (with `only_sent`, only those sent)."""
    sent = data.model_fields_set if only_sent else set(type(data).model_fields) - {"name"}
    fields: dict[str, Any] = {}
    for name in sent:
        value = getattr(data, name)
        if name == "budgets":
            given = value.model_dump(exclude_unset=True) if value is not None else {}
            value = replace(budgets, **given) if value is not None else KeyBudgets()
        elif name == "allowed_models" and value is not None:
            value = tuple(value)
        elif name == "metadata" and value is None:
            value = {}
        fields[name] = value
    return fields
