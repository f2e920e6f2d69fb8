"""The database of one app: where it is, and the async engine that reaches it.

`database_url` names it the way SQLAlchemy does; plain `sqlite:///` and `postgresql://` URLs
get their async drivers (aiosqlite, asyncpg). Empty means the embedded default: a SQLite file
in `data/` under the working directory (a volume in the image), never inside the package.
`sqlite://` alone is a database in memory, gone when the process ends (the test environment's
default). It lives in one connection, which callers take one at a time: shared at once (as a
`StaticPool` shares it), a read that ends rolls back a write in progress, and the write is lost
without an error.

SQLite is set up for a server: write-ahead logging (readers never wait for the writer) and a
busy timeout, so two processes sharing a file wait for each other instead of failing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from quart_llm.config.paths import DATA_PATH

DEFAULT_SQLITE_PATH = DATA_PATH / "quart_llm.sqlite3"
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def database_url(setting: str) -> URL:
    """The URL to connect to, with its async driver."""
    url = make_url(setting or f"sqlite:///{DEFAULT_SQLITE_PATH.absolute()}")
    driver = _ASYNC_DRIVERS.get(url.drivername)
    return url.set(drivername=driver) if driver is not None else url


def is_in_memory(url: URL) -> bool:
    """Whether the database lives in this process only."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite database, or None."""
    if url.get_backend_name() != "sqlite" or is_in_memory(url):
        return None
    return Path(url.database or "")


def create_engine(url: URL) -> AsyncEngine:
    """An async engine for `url` (its SQLite file's folder is made when missing)."""
    options: dict[str, Any] = {}
    if is_in_memory(url):
        options = {"poolclass": AsyncAdaptedQueuePool, "pool_size": 1, "max_overflow": 0}
    elif url.get_backend_name() == "postgresql":
        options = {"pool_size": 5, "max_overflow": 5, "pool_pre_ping": True}
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 5000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


class DatabaseUnavailable(Exception):
    """The database cannot be reached, or failed to answer (down, restarting, too slow)."""


UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,  # connection refused or lost, SQLite busy past its timeout
    exc.InterfaceError,
    exc.TimeoutError,  # no pooled connection in time
    OSError,  # drivers that raise the socket's own error (asyncpg connecting)
    TimeoutError,
)


@contextlib.contextmanager
def reaching_database() -> Iterator[None]:
    """Turn every "the database is unreachable" error into `DatabaseUnavailable` (anything
    else, a constraint broken, is a bug and stays what it is)."""
    try:
        yield
    except UNAVAILABLE_ERRORS as error:
        raise DatabaseUnavailable(f"{type(error).__name__}") from error


class Database:
    """One app's database: engine made and migrations run when serving starts."""

    def __init__(self, setting: str) -> None:
        self.url = database_url(setting)
        self._engine: AsyncEngine | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The engine (after `start()`)."""
        if self._engine is None:
            raise RuntimeError("the database is used before start()")
        return self._engine

    @property
    def started(self) -> bool:
        """Whether `start()` has run (and `stop()` not since)."""
        return self._engine is not None

    async def start(self) -> None:
        """Connect, and bring the schema up to date (see `migrations`)."""
        from quart_llm.store.migrations import upgrade

        if self._engine is None:
            self._engine = create_engine(self.url)
            await upgrade(self._engine)

    async def stop(self) -> None:
        """Close every connection."""
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()
