"""A real `redis-server` on 127.0.0.1 for tests, and the pytest fixtures built on it.

`RedisServer` runs the binary as a child process (no persistence, its own temporary directory)
on a free port, and can `stop()`, `pause()` and `restart()` it on the SAME port, for outage tests.

Fixtures (import them into a package's conftest.py to use them there):
    redis_url     session-scoped: `REDIS_URL` from the environment when set, else a server
                  started for the session
    redis_prefix  a unique key prefix per test; its keys are deleted afterwards (nothing else
                  is ever flushed, so a shared `REDIS_URL` server is safe)
    redis_server  a private server per test, which the test may stop and restart
"""

from __future__ import annotations

import os
import shutil
import signal
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
import redis

from tests.support.ports import free_port

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def answers_ping(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, binary: str | None = None) -> None:
        found = binary or redis_server_binary()
        if found is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = found
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="quart-llm-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start on `self.port`; on a first start that loses the port to a race, try another."""
        for attempt in range(3):
            if self._spawn():
                return
            if self._process is not None and self._process.poll() is None:
                break
            if attempt < 2:
                self.port = free_port()
        self.stop()
        log = (self._dir / "redis.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"redis-server did not answer PING on port {self.port}:\n{log}")

    def _spawn(self) -> bool:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", str(self._dir),
            "--logfile", str(self._dir / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if answers_ping(self.port):
                return True
            time.sleep(0.02)
        return False

    def stop(self, *, kill: bool = False) -> None:
        """End the server (SIGTERM, or SIGKILL as a crash); its data is gone."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server would not act on SIGTERM
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop if running, then start again on the same port (empty: no persistence)."""
        self.stop()
        if not self._spawn():
            self.stop()
            raise RuntimeError(f"redis-server did not restart on port {self.port}")

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): connections are accepted but never answered."""
        if self._process is not None:
            self._send(self._process, signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._send(self._process, signal.SIGCONT)

    @staticmethod
    def _send(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        if process.poll() is None:
            process.send_signal(sig)

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


def delete_prefix(url: str, prefix: str) -> int:
    """Delete the keys under `prefix:` (SCAN + UNLINK), never anything else."""
    deleted = 0
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            batch.append(key)
            if len(batch) >= 500:
                deleted += int(client.unlink(*batch))
                batch.clear()
        if batch:
            deleted += int(client.unlink(*batch))
    return deleted


def _require_binary() -> None:
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed and REDIS_URL is not set")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    _require_binary()
    with RedisServer() as server:
        yield server.url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"quart_llm_test:{uuid.uuid4().hex}"
    yield prefix
    delete_prefix(redis_url, prefix)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    _require_binary()
    with RedisServer() as server:
        yield server
