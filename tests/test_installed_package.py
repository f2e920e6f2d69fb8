"""The package as users install it: the wheel built from this checkout, installed into a fresh
venv with the dependencies uv.lock pins, then `quart-llm` run from a directory holding nothing
of the repository: `--version`, `check-config`, and `serve` answering health and a chat from
the mock until SIGTERM stops it.

Offline throughout: the build backend and the dependencies come from uv's cache, which
`./dev sync` (and so `.ci/run`) fills from the lock on a fresh machine. That cache holds the
lock's wheels under the lock's URLs, not the index pages a resolver reads, so the fresh venv
gets its dependencies the way `./dev sync` does (`uv sync --frozen --no-dev`, the project left
out), then the wheel alone; `uv pip check` proves they satisfy everything the wheel declares.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from quart_llm.config.paths import CONSOLE_PATH, ROOT_PATH
from tests.support.ports import free_port

API_KEY = "installed-key"


class Installed(NamedTuple):
    wheel: Path
    bin: Path
    site_packages: Path


def _run(
    command: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return str(done.stdout)


def _uv(*arguments: str | Path, environment: Path | None = None) -> str:
    """uv on this checkout; `environment` is the venv a project command (sync) works on."""
    env = dict(os.environ)
    if environment is not None:
        env["UV_PROJECT_ENVIRONMENT"] = str(environment)
    return _run([sys.executable, "-m", "uv", *arguments], cwd=ROOT_PATH, env=env)


def _bare_environment(**extra: str) -> dict[str, str]:
    """Nothing of this test run: no QUART_LLM_* (the repository's settings file among them),
    no PYTHONPATH, no upstream key."""
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    place = tmp_path_factory.mktemp("installed")
    _uv("build", "--wheel", "--offline", "--quiet", "--out-dir", place / "dist")
    (wheel,) = (place / "dist").glob("quart_llm-*.whl")
    venv = place / "venv"
    python = venv / "bin" / "python"
    dependencies = ("--frozen", "--no-dev", "--no-install-project", "--offline", "--quiet")
    _uv("sync", *dependencies, "--python", sys.executable, environment=venv)
    _uv("pip", "install", "--offline", "--quiet", "--python", python, "--no-deps", wheel)
    _uv("pip", "check", "--quiet", "--python", python)
    site_packages = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    )
    return Installed(wheel, venv / "bin", site_packages)


@pytest.fixture
def empty_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "work"
    directory.mkdir()
    return directory


def test_the_wheel_carries_every_file_the_package_reads(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = wheel.read(entry_points).decode()
    assert {
        "quart_llm/py.typed",
        "quart_llm/config/defaults/settings.toml",
        "quart_llm/config/defaults/hypercorn.toml",
        "quart_llm/store/migrations/env.py",
        "quart_llm/store/migrations/script.py.mako",
        "quart_llm/store/migrations/versions/0001_keys_and_usage.py",
        *(
            path.relative_to(ROOT_PATH).as_posix()
            for path in CONSOLE_PATH.rglob("*")
            if path.is_file()
        ),
    } <= names
    assert "quart-llm = quart_llm.cli:main" in scripts
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "data/"))]


def test_version_and_check_config_from_an_empty_directory(
    installed: Installed, empty_directory: Path
) -> None:
    def quart_llm(*arguments: str) -> str:
        command: list[str | Path] = [installed.bin / "quart-llm", *arguments]
        return _run(command, cwd=empty_directory, env=_bare_environment())

    with (ROOT_PATH / "pyproject.toml").open("rb") as project:
        version = tomllib.load(project)["project"]["version"]
    assert quart_llm("--version") == f"quart-llm {version}\n"
    assert quart_llm("check-config") == (
        "configuration ok: env development, providers mock, ollama, default mock, 0 API key(s)\n"
    )
    (empty_directory / "settings.toml").write_text('[development]\napi_keys = ["one", "two"]\n')
    assert "2 API key(s)" in quart_llm("check-config"), "./settings.toml layers over the defaults"
    imported = _run(
        [installed.bin / "python", "-c", "import quart_llm; print(quart_llm.__file__)"],
        cwd=empty_directory,
        env=_bare_environment(),
    )
    assert Path(imported.strip()).is_relative_to(installed.site_packages)


def test_serve_answers_from_an_empty_directory_and_stops_on_sigterm(
    installed: Installed, empty_directory: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = empty_directory.parent / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [installed.bin / "quart-llm", "serve", "--bind", f"127.0.0.1:{port}"],
            cwd=empty_directory,
            env=_bare_environment(QUART_LLM_API_KEYS=f'["{API_KEY}"]'),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        live = _wait_live(base_url, server, log)
        answer = httpx.post(
            f"{base_url}/v1/chat/completions",
            headers={"Authorization": f"Bearer {API_KEY}"},
            json={"model": "mock/mock-1", "messages": [{"role": "user", "content": "Hello!"}]},
            timeout=10,
        )
        console = httpx.get(f"{base_url}/ui/js/main.js", timeout=10)
        development_key = {"Authorization": "Bearer dev-key-change-me"}
        refused = httpx.get(f"{base_url}/v1/models", headers=development_key, timeout=10)
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert live.json() == {"status": "alive"}
    assert "server" not in live.headers, "the shipped hypercorn.toml was read"
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"].endswith("You said: Hello!")
    assert refused.status_code == 401, "an installed gateway knows no development key"
    assert console.status_code == 200, "the web console is served from the installed package"
    assert console.headers["content-type"].startswith("text/javascript")
    assert (empty_directory / "data" / "quart_llm.sqlite3").is_file()
    assert not (installed.site_packages / "data").exists(), "nothing written beside the package"


def _wait_live(base_url: str, server: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"quart-llm serve exited early:\n{log.read_text()}")
        try:
            return httpx.get(f"{base_url}/v1/health/live", timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"quart-llm serve never answered:\n{log.read_text()}")
