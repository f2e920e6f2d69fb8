"""A real PostgreSQL server on 127.0.0.1 for tests, and the pytest fixtures built on it.

`PostgresServer` makes its own cluster (`initdb`, trust authentication) in a temporary folder
and runs it with `pg_ctl` on a free port, as the `postgres` system user when the tests run as
root (PostgreSQL refuses to run as root). It can `stop()` and `start()` again on the same port,
with its data kept, for outage tests.

Fixtures (import them into a package's conftest.py to use them there):
    postgres_url       session-scoped: `POSTGRES_URL` from the environment when set (a server
                       whose user may create databases), else a server started for the session
    postgres_database  a new, empty database per test, dropped afterwards: its URL
    postgres_server    a private server per test, which the test may stop and start
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
from sqlalchemy.engine import make_url

from tests.support.ports import free_port

START_TIMEOUT = 30.0


def postgres_binary(name: str) -> str | None:
    """A PostgreSQL program: on PATH, or in Debian's versioned folder."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class PostgresServer:
    def __init__(self) -> None:
        initdb, pg_ctl = postgres_binary("initdb"), postgres_binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL (initdb, pg_ctl) is not installed")
        self._initdb, self._pg_ctl = initdb, pg_ctl
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="quart-llm-postgres-"))
        self._data = self._dir / "data"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user is not None:
            record = pwd.getpwnam(self._user)
            os.chown(self._dir, record.pw_uid, record.pw_gid)
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(
            command,
            check=True,
            user=self._user,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self._dir,
        )

    def start(self) -> None:
        """Make the cluster on the first start; start it on `self.port`."""
        if not self._initialised:
            self._run(self._initdb, "-D", str(self._data), "-U", "postgres", "--auth=trust")
            self._initialised = True
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._dir} -c fsync=off"
        self._run(
            self._pg_ctl, "-D", str(self._data), "-l", str(self._dir / "log"),
            "-o", options, "-w", "-t", str(int(START_TIMEOUT)), "start",
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not accepts_connections(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (fast shutdown); its data is kept."""
        if self._initialised and (self._data / "postmaster.pid").exists():
            self._run(self._pg_ctl, "-D", str(self._data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _admin_command(url: str, statement: str) -> None:
    """Run one statement on the server's `postgres` database (psycopg is not a dependency:
    asyncpg is, and it runs fine in a fresh event loop)."""
    import asyncio

    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def _require_binaries() -> None:
    if postgres_binary("initdb") is None or postgres_binary("pg_ctl") is None:
        pytest.skip("PostgreSQL is not installed and POSTGRES_URL is not set")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("POSTGRES_URL")
    if url:
        yield url
        return
    _require_binaries()
    with PostgresServer() as server:
        yield server.url


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    name = f"quart_llm_test_{uuid.uuid4().hex[:12]}"
    _admin_command(postgres_url, f'CREATE DATABASE "{name}"')
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    _admin_command(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    _require_binaries()
    with PostgresServer() as server:
        yield server
