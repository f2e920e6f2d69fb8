"""The gateway's version, as /v1/health and the OpenAPI document report it."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from quart_llm.config.paths import ROOT_PATH


def gateway_version(project_file: Path = ROOT_PATH / "pyproject.toml") -> str:
    """The installed package's version, else the one in the pyproject.toml beside the package:
    the container and the bench's production install run the sources without installing the
    project. Looked up once per app (the metadata lookup alone takes about 1 ms)."""
    try:
        return version("quart-llm")
    except PackageNotFoundError:
        pass
    try:
        with project_file.open("rb") as project:
            return str(tomllib.load(project)["project"]["version"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return "0.0.0"
