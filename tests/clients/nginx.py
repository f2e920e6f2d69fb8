"""deploy/nginx.conf outside Docker: the `gateway` upstream rewritten to loopback replicas,
checked with `nginx -t` or run in the foreground under a temporary prefix."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from quart_llm.config.paths import ROOT_PATH

NGINX_CONF = ROOT_PATH / "deploy" / "nginx.conf"
UPSTREAM_SERVER = re.compile(r"^(\s*)server\s+gateway:8000([^;]*);$", re.MULTILINE)
LISTEN = re.compile(r"^(\s*)listen\s+8000;$", re.MULTILINE)
START_TIMEOUT = 10.0


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.skip("nginx is not installed (Debian package nginx; .ci/run should install it)")
    return found


def loopback_config(upstreams: Sequence[str], listen: str | None = None) -> str:
    """deploy/nginx.conf with `server gateway:8000` replaced by one line per upstream address
    (nginx resolves names when it starts) and, when given, another listen address."""
    text = NGINX_CONF.read_text()
    assert len(UPSTREAM_SERVER.findall(text)) == 1, "one `server gateway:8000` line expected"
    text = UPSTREAM_SERVER.sub(
        lambda m: "\n".join(f"{m.group(1)}server {address}{m.group(2)};" for address in upstreams),
        text,
    )
    if listen is not None:
        assert len(LISTEN.findall(text)) == 1, "one `listen 8000;` line expected"
        text = LISTEN.sub(lambda m: f"{m.group(1)}listen {listen};", text)
    return text


def check_config(config: str, prefix: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `config`, written under `prefix` (which also holds the pid file)."""
    path = prefix / "nginx.conf"
    path.write_text(config)
    return subprocess.run(
        [nginx_binary(), "-e", "stderr", "-t", "-p", f"{prefix}/", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def running_nginx(config: str, prefix: Path, port: int) -> Iterator[Path]:
    """nginx in the foreground on 127.0.0.1:`port`; yields the file its stdout (the access
    log) and stderr go to."""
    path = prefix / "nginx.conf"
    path.write_text(config)
    log = prefix / "nginx.out"
    command = [nginx_binary(), "-e", "stderr", "-p", f"{prefix}/", "-c", str(path)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _accepts(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
