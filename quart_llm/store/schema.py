"""The database schema, as SQLAlchemy Core tables: the head of the migrations (a test holds
the two equal).

`api_keys` holds the keys made at runtime: the SHA-256 digest of each secret, never the secret
itself; its id is the same key id the gateway gives every key (`services.keys`). `usage_records`
holds one row per request: what it cost and how it went, never what was said. `record_id` is
unique, so a batch written twice (replayed after an outage) is counted once.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
)

metadata = MetaData()

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
    Column("hint", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("owner", String(200), nullable=True),
    Column("metadata", JSON, nullable=False),
    Column("tier", String(64), nullable=True),
    Column("allowed_models", JSON, nullable=True),
    Column("budgets", JSON, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_api_keys_updated_at", "updated_at"),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("record_id", String(32), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(128), nullable=False),
    Column("key_id", String(32), nullable=True),
    Column("route", String(128), nullable=False),
    Column("provider", String(64), nullable=True),
    Column("model", String(512), nullable=True),
    Column("alias", String(512), nullable=True),
    Column("status", Integer, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("prompt_tokens", Integer, nullable=True),
    Column("completion_tokens", Integer, nullable=True),
    Column("tokens_estimated", Boolean, nullable=False),
    Column("cost_usd", Numeric(20, 10), nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("ttft_ms", Float, nullable=True),
    Column("retries", Integer, nullable=False),
    Column("fallbacks", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Index("usage_records_key_time", "key_id", "created_at"),
    Index("usage_records_time", "created_at"),
)
