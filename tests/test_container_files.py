"""The container files, checked offline: there is no Docker engine on our machines."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from quart_llm.config.paths import ROOT_PATH


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; .ci/run installs it")
    return found


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_tool("hadolint"), str(ROOT_PATH / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_non_root_from_the_lock_with_a_healthcheck() -> None:
    text = (ROOT_PATH / "Dockerfile").read_text()
    assert "FROM python:3.13-slim AS build" in text
    assert "uv sync --frozen --no-dev" in text
    assert "USER 10001:10001" in text
    assert "HEALTHCHECK" in text and "/v1/health" in text
    assert 'CMD ["python", "-m", "quart_llm", "serve"]' in text


def test_runtime_image_carries_the_package_and_no_development_keys() -> None:
    """The package carries its defaults; pyproject.toml gives its version, since the project
    itself is not installed into the image's venv; the repository's settings.toml, which holds
    the development and test keys, stays out."""
    runtime = (ROOT_PATH / "Dockerfile").read_text().split("\nFROM python:3.13-slim\n", 1)[1]
    copied = {
        word
        for line in runtime.splitlines()
        if line.startswith("COPY ") and "--from" not in line
        for word in line.split()[1:-1]
    }
    assert {"pyproject.toml", "quart_llm"} <= copied
    assert "settings.toml" not in copied
    assert (ROOT_PATH / "quart_llm" / "config" / "defaults" / "settings.toml").is_file()


COMPOSE_ENV = 'QUART_LLM_API_KEYS=["k"]\nPOSTGRES_PASSWORD=pw\n'


def compose_config(tmp_path: Path, env: str | None) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` on the repository's file, with `env` as its .env (or none)."""
    if env is not None:
        (tmp_path / ".env").write_text(env)
    shutil.copy(ROOT_PATH / "docker-compose.yml", tmp_path / "docker-compose.yml")
    return subprocess.run(
        [_tool("docker-compose"), "config"], cwd=tmp_path, capture_output=True, text=True,
        check=False,
    )  # fmt: skip


def test_compose_file_is_valid(tmp_path: Path) -> None:
    result = compose_config(tmp_path, COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    gateway = config["services"]["gateway"]
    assert gateway["environment"]["QUART_LLM_REDIS_URL"] == "redis://redis:6379/0"
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "/v1/health" in " ".join(gateway["healthcheck"]["test"])
    assert "ollama-models" in config["volumes"]


def test_compose_gateways_keep_their_data_in_postgresql(tmp_path: Path) -> None:
    result = compose_config(tmp_path, COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    gateway, postgres = config["services"]["gateway"], config["services"]["postgres"]
    assert gateway["environment"]["QUART_LLM_DATABASE_URL"] == (
        "postgresql://quart_llm:pw@postgres:5432/quart_llm"
    )
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert postgres["environment"]["POSTGRES_PASSWORD"] == "pw"
    assert "ports" not in postgres
    assert any("postgres-data" in str(volume) for volume in postgres["volumes"])
    assert "postgres-data" in config["volumes"]


@pytest.mark.parametrize(
    ("env", "missing"),
    [(None, "QUART_LLM_API_KEYS"), ('QUART_LLM_API_KEYS=["k"]\n', "POSTGRES_PASSWORD")],
)
def test_compose_requires_api_keys_and_the_database_password(
    tmp_path: Path, env: str | None, missing: str
) -> None:
    result = compose_config(tmp_path, env)
    assert result.returncode != 0
    assert missing in result.stderr
