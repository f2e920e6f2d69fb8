"""The version the health answer and the OpenAPI document report, installed or not."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from quart.testing import QuartClient

from quart_llm.blueprints import health
from quart_llm.blueprints.health import gateway_version
from quart_llm.paths import ROOT_PATH


def _not_installed(name: str) -> str:
    raise PackageNotFoundError(name)


def test_installed_package_gives_the_version() -> None:
    assert gateway_version() == version("quart-llm")


def test_sources_without_an_install_read_the_version_beside_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(health, "version", _not_installed)
    project = tmp_path / "pyproject.toml"
    project.write_text('[project]\nname = "quart-llm"\nversion = "9.8.7"\n')
    assert gateway_version(project) == "9.8.7"
    with (ROOT_PATH / "pyproject.toml").open("rb") as ours:
        assert gateway_version() == tomllib.load(ours)["project"]["version"]


@pytest.mark.parametrize("text", [None, "not toml [", "[project]\nname = 'x'\n", "project = 1\n"])
def test_no_version_anywhere_is_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str | None
) -> None:
    monkeypatch.setattr(health, "version", _not_installed)
    project = tmp_path / "pyproject.toml"
    if text is not None:
        project.write_text(text)
    assert gateway_version(project) == "0.0.0"


async def test_health_and_openapi_report_the_version(client: QuartClient) -> None:
    answer = await client.get("/v1/health")
    assert (await answer.get_json())["version"] == gateway_version()
    document = await client.get("/openapi.json")
    assert (await document.get_json())["info"]["version"] == gateway_version()
