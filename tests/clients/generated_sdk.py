"""Generate a Python client with openapi-python-client (no network, no install) and import it by
path. It reads only OpenAPI 3.1, so it is given the 3.1 copy, `openapi/openapi-3.1.json`. The
client's own dependencies, httpx, attrs and python-dateutil, come from our environment."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from quart_llm.config.paths import ROOT_PATH

SPEC = ROOT_PATH / "openapi" / "openapi-3.1.json"
PACKAGE = "quart_llm_client"
GENERATE_TIMEOUT = 120


def generator_command() -> list[str]:
    return [sys.executable, "-m", "openapi_python_client"]


def generate_client(directory: Path, spec: Path = SPEC) -> subprocess.CompletedProcess[str]:
    """Generate `PACKAGE` into `directory` (formatting hooks off: we only import it)."""
    config = directory / "openapi-python-client.yaml"
    config.write_text("post_hooks: []\n")
    command = [
        *generator_command(),
        "generate",
        "--path", str(spec),
        "--output-path", str(directory / PACKAGE),
        "--meta", "none",
        "--config", str(config),
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, timeout=GENERATE_TIMEOUT, check=False
    )


def forget_package(name: str = PACKAGE) -> None:
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


@contextmanager
def imported_client(directory: Path, name: str = PACKAGE) -> Iterator[ModuleType]:
    """Import the generated package from `directory`; forget it afterwards."""
    forget_package(name)
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(directory))
        forget_package(name)
