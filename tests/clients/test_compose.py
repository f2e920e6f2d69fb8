"""The scaled-out deployment, checked offline (no Docker engine here): docker-compose.yml for
the default stack and each profile, and deploy/nginx.conf through `nginx -t`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from quart_llm.config.paths import ROOT_PATH
from tests.clients.nginx import NGINX_CONF, check_config, loopback_config

COMPOSE_FILE = ROOT_PATH / "docker-compose.yml"
ENV_EXAMPLE = ROOT_PATH / ".env.example"
ALWAYS = {"lb", "gateway", "redis", "postgres"}


def docker_compose() -> str:
    beside_python = Path(sys.executable).parent / "docker-compose"
    found = str(beside_python) if beside_python.exists() else shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is not installed; .ci/run installs it")
    return found


def dotenv(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z_]+=", line))


def compose_config(
    tmp_path: Path, *flags: str, environment: dict[str, str] | None = None
) -> dict[str, Any]:
    """`docker-compose [flags] config` in a copy of the project with .env from .env.example."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    shutil.copytree(ROOT_PATH / "deploy", tmp_path / "deploy", dirs_exist_ok=True)
    example = ENV_EXAMPLE.read_text()
    (tmp_path / ".env").write_text(example.replace('["change-me"]', '["k"]'))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "OLLAMA_"))}
    result = subprocess.run(
        [docker_compose(), *flags, "config"],
        cwd=tmp_path,
        env={**env, **(environment or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def started(config: dict[str, Any], profiles: set[str]) -> set[str]:
    """The services `up` starts with these profiles active (compose's rule)."""
    return {
        name
        for name, service in config["services"].items()
        if not service.get("profiles") or profiles & set(service["profiles"])
    }


def assert_dependencies_start(config: dict[str, Any], services: set[str]) -> None:
    for name in services:
        needs = set(config["services"][name].get("depends_on", {}))
        assert needs <= services, f"{name} depends on {needs - services}, not started"


def test_default_up_runs_nginx_gateway_redis_and_ollama(tmp_path: Path) -> None:
    config = compose_config(tmp_path)
    assert dotenv(ENV_EXAMPLE.read_text())["COMPOSE_PROFILES"] == "ollama"
    services = started(config, {"ollama"})
    assert services == ALWAYS | {"ollama"}
    assert_dependencies_start(config, services)
    gateway = config["services"]["gateway"]
    assert gateway["environment"]["QUART_LLM_PROVIDERS__OLLAMA__ENABLED"] == "true"
    assert gateway["environment"]["QUART_LLM_PROVIDERS__OLLAMA__BASE_URL"] == (
        "http://ollama:11434"
    )
    assert "ollama-models" in config["volumes"]


def test_openrouter_profile_runs_without_ollama(tmp_path: Path) -> None:
    config = compose_config(
        tmp_path, "--profile", "openrouter", environment={"OLLAMA_ENABLED": "false"}
    )
    services = started(config, {"openrouter"})
    assert services == ALWAYS
    assert_dependencies_start(config, services)
    gateway = config["services"]["gateway"]
    assert gateway["environment"]["QUART_LLM_PROVIDERS__OLLAMA__ENABLED"] == "false"
    assert gateway["environment"]["OPENROUTER_API_KEY"] == ""


def test_ollama_profile_alone_is_valid(tmp_path: Path) -> None:
    config = compose_config(tmp_path, "--profile", "ollama")
    assert_dependencies_start(config, started(config, {"ollama"}))


def test_gateway_scales_behind_the_load_balancer(tmp_path: Path) -> None:
    config = compose_config(tmp_path)
    gateway = config["services"]["gateway"]
    assert "ports" not in gateway, "replicas must not publish a host port (it would clash)"
    assert "container_name" not in gateway, "a fixed name cannot be scaled"
    assert [str(port) for port in gateway["expose"]] == ["8000"]
    assert gateway["environment"]["QUART_LLM_REDIS_URL"] == "redis://redis:6379/0"
    assert gateway["environment"]["QUART_LLM_TRUSTED_PROXY_HOPS"] == "1"
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"

    lb = config["services"]["lb"]
    assert lb["image"].startswith("nginx:")
    assert [(str(p["published"]), p["target"]) for p in lb["ports"]] == [("8000", 8000)]
    assert lb["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert (ROOT_PATH / "deploy" / "nginx.conf", "/etc/nginx/nginx.conf", True) in [
        bind_mount(volume, tmp_path) for volume in lb["volumes"]
    ]


def bind_mount(volume: str | dict[str, Any], project: Path) -> tuple[Path, str, bool]:
    """(source in the repository, target, read-only), from the short or the long syntax."""
    if isinstance(volume, str):
        source, target, *mode = volume.split(":")
        read_only = mode == ["ro"]
    else:
        source, target = volume["source"], volume["target"]
        read_only = bool(volume.get("read_only"))
    return ROOT_PATH / Path(source).relative_to(project), target, read_only


def test_nginx_config_is_valid(tmp_path: Path) -> None:
    config = loopback_config(["127.0.0.1:18001", "127.0.0.1:18002", "127.0.0.1:18003"])
    result = check_config(config, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_is_set_up_for_server_sent_events() -> None:
    text = NGINX_CONF.read_text()
    directives = {
        line.strip().rstrip(";")
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    }
    for expected in (
        "proxy_buffering off",
        "proxy_cache off",
        "gzip off",
        "proxy_read_timeout 3600s",
        "proxy_send_timeout 3600s",
        "proxy_http_version 1.1",
        'proxy_set_header Connection ""',
        "keepalive 64",
        "server gateway:8000",
        "proxy_pass http://gateway",
    ):
        assert expected in directives, expected
    assert "proxy_ignore_headers" not in text, "the gateway's X-Accel-Buffering must count"
    assert not re.search(r"^\s*(user|daemon)\s", text, re.MULTILINE), "set by the image / -g"
