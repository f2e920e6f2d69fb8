"""Node.js for the client tests: the pinned packages of `clients/node/` installed once with
`npm ci` and kept (git-ignored) until the lock changes, and scripts run with a time limit."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from typing import Any

import pytest

from quart_llm.config.paths import ROOT_PATH

NODE_DIR = ROOT_PATH / "clients" / "node"
STAMP = NODE_DIR / "node_modules" / ".quart-llm-installed"
INSTALL_TIMEOUT = 300
RUN_TIMEOUT = 60


def node_binaries() -> tuple[str, str]:
    """`node` and `npm`, or a skip naming what is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = [name for name, path in (("node", node), ("npm", npm)) if path is None]
    if node is None or npm is None:
        pytest.skip(f"Node.js is not installed ({' and '.join(missing)} not on PATH)")
    return node, npm


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((NODE_DIR / name).read_bytes())
    return digest.hexdigest()


def install_node_packages(npm: str) -> None:
    """`npm ci` into clients/node/node_modules, skipped while the lock is unchanged."""
    wanted = _lock_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    STAMP.write_text(wanted)


def run_node(
    node: str, args: list[str], *, stdin: str | None = None, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run node in clients/node (so `import "openai"` resolves there)."""
    return subprocess.run(
        [node, *args],
        cwd=NODE_DIR,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_node_json(node: str, args: list[str]) -> dict[str, Any]:
    result = run_node(node, args)
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed
