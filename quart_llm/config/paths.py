"""Where the gateway's files are: the directory holding settings.toml, hypercorn.toml and
openapi/, next to the package (in the container too). No imports, so the command line can use
it before deciding what else to load."""

from __future__ import annotations

from pathlib import Path

ROOT_PATH = Path(__file__).resolve().parents[2]
