"""Every example of the README's `Clients` section, cut out of README.md and run against a real
server: curl, the openai Python and Node clients, the generated SDK, and browser-style fetch
(run by Node's global fetch: no browser here)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from quart_llm.config.paths import ROOT_PATH
from tests.clients.generated_sdk import generator_command
from tests.clients.node import NODE_DIR, run_node
from tests.clients.readme import client_example, pointed_at, section, shell_commands
from tests.conftest import TEST_KEY
from tests.support.live_server import LiveServer

HELLO = "This is a mock reply from quart_llm. You said: Hello!"
TIMEOUT = 60


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def example(subsection: str, language: str, server: LiveServer, index: int = 0) -> str:
    return pointed_at(client_example(subsection, language, index), server.base_url, TEST_KEY)


def test_curl(server: LiveServer, tmp_path: Path) -> None:
    assignment, *commands = shell_commands(example("### curl", "bash", server))
    assert assignment == f"KEY={TEST_KEY}"
    failing, headers = commands
    result = run(["bash", "-c", f"{assignment}\n{failing}"], tmp_path)
    assert result.returncode == 22, "--fail-with-body exits 22 on an HTTP error"
    assert json.loads(result.stdout)["error"]["code"] == "upstream_unavailable"
    result = run(["bash", "-c", f"{assignment}\n{headers}"], tmp_path)
    assert result.returncode == 0, result.stderr
    head, _, body = result.stdout.partition("\n\n")
    assert head.startswith("HTTP/1.1 200")
    names = {line.split(":", 1)[0].lower() for line in head.splitlines()[1:]}
    assert {"x-request-id", "ratelimit-limit", "ratelimit-remaining"} <= names
    assert "mock/mock-1" in body


def test_openai_python(server: LiveServer, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example("### openai (Python)", "python", server))
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        HELLO,
        HELLO,
        "404 model_not_found",
        "stream failed: provider 'mock': mock-fail-midway failed on purpose",
    ]


def test_openai_node(node: str, server: LiveServer) -> None:
    result = run_node(
        node, ["--input-type=module"], stdin=example("### openai (Node)", "js", server)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [HELLO, HELLO, "404 model_not_found"]


def test_node_install_line_names_the_pinned_version() -> None:
    pinned = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["openai"]
    assert f"npm install openai@{pinned}" in section("### openai (Node)", section("## Clients"))


def test_generated_sdk(server: LiveServer, tmp_path: Path) -> None:
    generate = " ".join(shell_commands(example("### Generated Python SDK", "bash", server)))
    program, *arguments = shlex.split(generate)
    assert program == ".venv/bin/openapi-python-client"
    arguments = [str(ROOT_PATH / a) if a.startswith("openapi/") else a for a in arguments]
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = run([*generator_command(), *arguments], tmp_path, env=environment)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "quart_llm_client" / "__init__.py").exists()

    script = tmp_path / "example.py"
    script.write_text(example("### Generated Python SDK", "python", server))
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    health, models, answer = result.stdout.splitlines()
    assert health in {"ok", "degraded"}
    assert "'mock/mock-1'" in models
    assert answer == HELLO


def browser_fetch(server: LiveServer, model: str = "mock/mock-1") -> str:
    code = example("### Browser `fetch`", "js", server)
    assert '"mock/mock-1"' in code
    return code.replace('"mock/mock-1"', json.dumps(model))


def test_browser_fetch_reads_the_stream(node: str, server: LiveServer) -> None:
    result = run_node(node, ["--input-type=module"], stdin=browser_fetch(server))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [HELLO]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("mock/mock-fail-early", "503 upstream_unavailable"),
        ("mock/mock-fail-midway", "mock-fail-midway failed on purpose"),
        ("mock/nope", "404 model_not_found"),
    ],
)
def test_browser_fetch_raises_on_errors(
    node: str, server: LiveServer, model: str, message: str
) -> None:
    result = run_node(node, ["--input-type=module"], stdin=browser_fetch(server, model))
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stdout == ""


def test_anthropic_python(server: LiveServer, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example("### Anthropic Messages API (`anthropic`, Python)", "python", server))
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    whole, streamed, tokens = result.stdout.splitlines()
    assert whole == streamed == HELLO
    assert int(tokens) > 0


def test_openai_responses_python(server: LiveServer, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example("### OpenAI Responses API (`openai`, Python)", "python", server))
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [HELLO, HELLO, "completed"]


@pytest.mark.parametrize(
    ("subsection", "text_of"),
    [
        ("### Anthropic Messages API (`anthropic`, Python)", lambda a: a["content"][0]["text"]),
        (
            "### OpenAI Responses API (`openai`, Python)",
            lambda a: a["output"][0]["content"][0]["text"],
        ),
    ],
)
def test_curl_of_the_translated_apis(
    server: LiveServer, tmp_path: Path, subsection: str, text_of: Any
) -> None:
    (command,) = shell_commands(example(subsection, "bash", server))
    result = run(["bash", "-c", command], tmp_path, env={**os.environ, "KEY": TEST_KEY})
    assert result.returncode == 0, result.stderr
    assert text_of(json.loads(result.stdout)) == HELLO


def test_embeddings_python(server: LiveServer, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example("### Embeddings (`openai`, Python)", "python", server))
    result = run([sys.executable, str(script)], tmp_path)
    assert result.returncode == 0, result.stderr
    sizes, lengths, same = result.stdout.splitlines()
    length, prompt_tokens = map(int, sizes.split())
    assert length == 64 and prompt_tokens > 0
    assert (lengths, same) == ("[8, 8]", "True")


def test_curl_of_embeddings(server: LiveServer, tmp_path: Path) -> None:
    (command,) = shell_commands(example("### Embeddings (`openai`, Python)", "bash", server))
    result = run(["bash", "-c", command], tmp_path, env={**os.environ, "KEY": TEST_KEY})
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [item["index"] for item in answer["data"]] == [0, 1]
    assert all(isinstance(x, float) for x in answer["data"][1]["embedding"])
    assert answer["model"] == "mock/mock-1"
