"""Alembic's environment: migrations run on the connection the gateway hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from quart_llm.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through quart_llm.store.migrations.upgrade")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
