"""The README's promises, run for real: `python -m quart_llm serve` on the embedded development
defaults answers the README's curl examples, and the plain Hypercorn command serves too."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from quart_llm.config.paths import ROOT_PATH
from tests.support.ports import free_port
from tests.support.sse_reader import parse_sse

README = (ROOT_PATH / "README.md").read_text()


@contextmanager
def server_process(command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")}
    env["QUART_LLM_ENV"] = "development"
    env.pop("OPENROUTER_API_KEY", None)
    process = subprocess.Popen(
        command, cwd=ROOT_PATH, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"the server exited early: {output}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def readme_curl_commands() -> list[str]:
    """The curl commands of the README's `Try it` block, continuation lines joined."""
    block = README.split("## Try it", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    commands: list[str] = []
    current = ""
    for line in joined.splitlines():
        if line.startswith("curl"):
            current = line
        elif current and line.startswith(" "):
            current += " " + line.strip()
        else:
            if current:
                commands.append(current)
            current = ""
    if current:
        commands.append(current)
    return commands


def run_curl(command: str, port: int) -> str:
    command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    command = command.replace("$KEY", "dev-key-change-me")
    result = subprocess.run(
        shlex.split(command), capture_output=True, text=True, timeout=20, check=False
    )
    assert result.returncode == 0, (command, result.stderr)
    return result.stdout


def test_serve_answers_the_readme_examples() -> None:
    port = free_port()
    command = [sys.executable, "-m", "quart_llm", "serve", "--bind", f"127.0.0.1:{port}"]
    commands = readme_curl_commands()
    assert len(commands) >= 6
    with server_process(command, port) as process:
        outputs = {cmd: run_curl(cmd, port) for cmd in commands if "ollama/" not in cmd}
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0, "SIGTERM stops the server cleanly"
    for cmd, output in outputs.items():
        if "/v1/health" in cmd:
            health = json.loads(output)
            assert health["providers"]["mock"]["reachable"] is True
            assert health["status"] == "degraded", "Ollama is not running here"
        elif "/v1/models" in cmd:
            assert "mock/mock-1" in [m["id"] for m in json.loads(output)["data"]]
        elif '"stream": true' in cmd or "/v1/chat/stream" in cmd:
            parsed = parse_sse(output)
            assert parsed.done
            assert parsed.text.endswith("You said: Hello!")
        elif "/v1/chat/completions" in cmd:
            answer = json.loads(output)
            assert answer["choices"][0]["message"]["content"].endswith("You said: Hello!")


def test_plain_hypercorn_command_serves_the_app() -> None:
    port = free_port()
    hypercorn = Path(sys.executable).parent / "hypercorn"
    command = [
        str(hypercorn),
        "--config",
        "quart_llm/config/defaults/hypercorn.toml",
        "--bind",
        f"127.0.0.1:{port}",
        "quart_llm:create_app()",
    ]
    with server_process(command, port):
        response = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["providers"]["mock"]["reachable"] is True
