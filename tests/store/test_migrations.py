"""Migrations: from an empty database to the head, which is the schema the code uses; several
replicas starting at once migrate once."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from quart_llm.store.database import Database
from quart_llm.store.migrations import current_revision, head_revision, upgrade
from quart_llm.store.schema import metadata


def differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_an_empty_database_is_migrated_to_the_code_schema(database_setting: str) -> None:
    database = Database(database_setting)
    await database.start()
    try:
        assert await current_revision(database.engine) == head_revision()
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert {"api_keys", "usage_records", "alembic_version"} <= tables
            assert await connection.run_sync(differences) == []
    finally:
        await database.stop()


async def test_replicas_starting_at_once_migrate_once(database_setting: str) -> None:
    replicas = [Database(database_setting) for _ in range(3)]
    try:
        await asyncio.gather(*(replica.start() for replica in replicas))
        revisions = {await current_revision(replica.engine) for replica in replicas}
        assert revisions == {head_revision()}
    finally:
        for replica in replicas:
            await replica.stop()


async def test_migrating_again_changes_nothing(database_setting: str) -> None:
    database = Database(database_setting)
    await database.start()
    try:
        await upgrade(database.engine)
        assert await current_revision(database.engine) == head_revision()
    finally:
        await database.stop()


async def test_a_database_in_memory_gets_the_head_schema() -> None:
    database = Database("sqlite://")
    await database.start()
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await database.stop()
