"""The store's tests run against both databases the gateway supports: a SQLite file and a
real PostgreSQL server the suite starts itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.postgres_server import postgres_database, postgres_url

__all__ = ["postgres_database", "postgres_url"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_setting(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A `database_url` setting for an empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.sqlite3'}"
    url: str = request.getfixturevalue("postgres_database")
    return url
