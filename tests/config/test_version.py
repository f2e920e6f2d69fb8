"""The gateway's version, installed or not."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from quart_llm.config import version as version_module
from quart_llm.config.paths import ROOT_PATH
from quart_llm.config.version import gateway_version


def _not_installed(name: str) -> str:
    raise PackageNotFoundError(name)


def test_installed_package_gives_the_version() -> None:
    assert gateway_version() == version("quart-llm")


def test_sources_without_an_install_read_the_version_beside_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(version_module, "version", _not_installed)
    project = tmp_path / "pyproject.toml"
    project.write_text('[project]\nname = "quart-llm"\nversion = "9.8.7"\n')
    assert gateway_version(project) == "9.8.7"
    with (ROOT_PATH / "pyproject.toml").open("rb") as ours:
        assert gateway_version() == tomllib.load(ours)["project"]["version"]


@pytest.mark.parametrize("text", [None, "not toml [", "[project]\nname = 'x'\n", "project = 1\n"])
def test_no_version_anywhere_is_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str | None
) -> None:
    monkeypatch.setattr(version_module, "version", _not_installed)
    project = tmp_path / "pyproject.toml"
    if text is not None:
        project.write_text(text)
    assert gateway_version(project) == "0.0.0"
