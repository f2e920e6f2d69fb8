"""The admin API's keys on the wire: what `POST` and `PATCH /admin/v1/keys` take, the listing's
query, and the key object every route answers with.

Input is refused (400) rather than stored when the database could not keep it as sent: text
with NUL or a lone surrogate (PostgreSQL refuses the one, UTF-8 cannot encode the other),
text or metadata past their bounds. Everything else, quotes, semicolons, any script or
emoji, is stored and returned verbatim (the store only ever binds parameters).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    model_validator,
)

METADATA_MAX_BYTES = 16_384
MAX_PATTERNS = 100


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _storable_json(value: Any) -> Any:
    if isinstance(value, str):
        _storable(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable_json(item)
    elif isinstance(value, list):
        for item in value:
            _storable_json(item)
    return value


def _storable_metadata(value: dict[str, Any]) -> dict[str, Any]:
    _storable_json(value)
    if len(json.dumps(value, ensure_ascii=False).encode()) > METADATA_MAX_BYTES:
        raise ValueError(f"metadata may be at most {METADATA_MAX_BYTES} bytes of JSON")
    return value


def _utc(value: datetime) -> datetime:
    """An expiry as aware UTC (a time without a zone is taken as UTC)."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range in UTC") from None


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
Owner = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
Tier = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_storable)]
ModelPattern = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable)]
Metadata = Annotated[dict[str, Any], AfterValidator(_storable_metadata)]
Expiry = Annotated[datetime, AfterValidator(_utc)]


class Budgets(BaseModel):
    """A key's budgets; null (or absent) means no budget of that kind."""

    model_config = ConfigDict(extra="forbid")

    tokens_per_day: Annotated[int, Field(ge=1, le=10**15)] | None = None
    tokens_per_month: Annotated[int, Field(ge=1, le=10**15)] | None = None
    usd_per_day: Annotated[float, Field(ge=0, le=10**12)] | None = None
    usd_per_month: Annotated[float, Field(ge=0, le=10**12)] | None = None


class KeyChanges(BaseModel):
    """`PATCH /admin/v1/keys/{id}`: the fields sent are set (null clears), the others kept;
    `budgets` changes the budgets it names."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    owner: Owner | None = None
    metadata: Metadata | None = None
    tier: Tier | None = None
    budgets: Budgets | None = None
    allowed_models: Annotated[list[ModelPattern], Field(max_length=MAX_PATTERNS)] | None = None
    expires_at: Expiry | None = None


class KeyCreate(KeyChanges):
    """`POST /admin/v1/keys`: a new key."""

    name: Name


class KeyListQuery(BaseModel):
    """`GET /admin/v1/keys`'s query."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        """`?owner=` (an empty form field) filters nothing."""
        if isinstance(value, dict):
            return {name: item for name, item in value.items() if item != ""}
        return value

    limit: Annotated[int, Field(ge=1, le=1000)] = 50
    cursor: Annotated[str, Field(max_length=1000)] | None = None
    status: Literal["active", "revoked", "expired"] | None = None
    owner: Owner | None = None
    name: Name | None = None
    source: Literal["database", "settings"] | None = None


class BudgetsOut(BaseModel):
    tokens_per_day: NonNegativeInt | None
    tokens_per_month: NonNegativeInt | None
    usd_per_day: NonNegativeFloat | None
    usd_per_month: NonNegativeFloat | None


class KeyObject(BaseModel):
    """An API key as the admin API shows it: never its secret, only a hint of it."""

    object: Literal["api_key"]
    id: str
    name: str
    owner: str | None
    metadata: dict[str, Any]
    tier: str | None
    allowed_models: list[str] | None
    budgets: BudgetsOut
    expires_at: str | None
    created_at: str
    updated_at: str
    revoked_at: str | None
    status: Literal["active", "revoked", "expired"]
    source: Literal["database", "settings"]
    hint: str


class CreatedKey(KeyObject):
    """A new key, with its secret: shown in this answer only, never again."""

    secret: str


class KeyList(BaseModel):
    """A page of keys; `next_cursor` continues it (null: the last page)."""

    object: Literal["list"]
    data: list[KeyObject]
    next_cursor: str | None
