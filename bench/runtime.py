"""The interpreter the gateway and the passthroughs run on: a production install, built as the
Dockerfile builds it (`uv sync --frozen --no-dev --no-install-project`, bytecode compiled) into
`.venv-prod`, next to the development `.venv`.

The development environment is the wrong thing to measure: it holds the dev tools (httpx then
imports its CLI, with rich, pygments and click), and with PYTHONDONTWRITEBYTECODE set, as in
the container, nothing there is compiled ahead, so each start would compile every module again.
The sync takes a few seconds the first time (from uv's cache) and well under one afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.paths import ROOT
from bench.tools import BenchError

PRODUCTION_ENV = ROOT / ".venv-prod"
COMPILED_SOURCES = ("quart_llm", "bench")
SYNC_TIMEOUT_SECONDS = 600


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=SYNC_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchError(f"{' '.join(command[:4])}… failed: {exc}") from exc
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")


def production_python(env_dir: Path = PRODUCTION_ENV) -> Path:
    """Build or update the production environment from uv.lock; return its interpreter.

    The gateway's own sources are compiled too (into the git-ignored `__pycache__`), as the
    container image has them, so that no start-up pays for compiling them.
    """
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(UV_PROJECT_ENVIRONMENT=str(env_dir), UV_PYTHON_DOWNLOADS="never")
    _run(
        [
            sys.executable,
            "-m",
            "uv",
            "sync",
            "--quiet",
            "--frozen",
            "--no-dev",
            "--no-install-project",
            "--compile-bytecode",
            "--python",
            sys.executable,
        ],
        env,
    )
    python = env_dir / "bin" / "python"
    _run([str(python), "-m", "compileall", "-q", *COMPILED_SOURCES])
    return python


def importable(python: Path, module: str) -> bool:
    """Whether `python` (with this process's PYTHONPATH) can import `module`."""
    check = "import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)"
    done = subprocess.run(
        [str(python), "-c", check, module], cwd=ROOT, capture_output=True, timeout=60, check=False
    )
    return done.returncode == 0
