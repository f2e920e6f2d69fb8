"""Schema migrations (Alembic), run by `python -m quart_llm migrate` and at every start.

Several replicas may start at once: on PostgreSQL the upgrade runs under a transaction-scoped
advisory lock, so one replica migrates while the others wait and then find nothing to do; on
a SQLite file an exclusive lock on a file beside it does the same for processes on one host.
A database in memory is new by definition: it gets the head schema directly.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from quart_llm.store.database import is_in_memory, sqlite_path
from quart_llm.store.schema import metadata

MIGRATIONS = Path(__file__).resolve().parent
_LOCK_ID = 0x71_6C_6C_6D  # "qllm": the advisory lock that serialises migrations


def alembic_config() -> Config:
    """Alembic's settings for this package's migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default), one replica at a time."""
    url = engine.url
    if is_in_memory(url):
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        return
    async with _file_lock(sqlite_path(url)), engine.begin() as connection:
        if url.get_backend_name() == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        await connection.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@asynccontextmanager
async def _file_lock(database: Path | None) -> AsyncIterator[None]:
    """An exclusive lock on a file beside the database, waited for in a thread so the event
    loop (and another migration in the same process) goes on meanwhile."""
    if database is None:
        yield
        return
    lock_path = database.with_name(database.name + ".migrate-lock")
    with lock_path.open("a") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
