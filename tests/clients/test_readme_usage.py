"""The curl examples of the README's `Usage reports` section, cut out of README.md and run
against a real server with stored records: JSON reports, the CSV file, the newest records."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clients.readme import README_URL, section, shell_commands
from tests.conftest import AUTH, TEST_KEY
from tests.support.live_server import LiveServer, running_gateway

ADMIN_KEY = "test-admin-key"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with running_gateway({"usage": {"flush_seconds": 0.05}}) as live:
        yield live


def usage_commands() -> list[str]:
    text = section("### Usage reports", section("## Keys, budgets and usage"))
    blocks = text.split("```bash\n")[1:]
    return [command for block in blocks for command in shell_commands(block.split("```")[0])]


def run(command: str, server: LiveServer, cwd: Path) -> str:
    env = {"KEY": TEST_KEY, "ADMIN_KEY": ADMIN_KEY, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", "-c", command.replace(README_URL, server.base_url)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_usage_report_examples_answer(server: LiveServer, tmp_path: Path) -> None:
    body = {"model": "mock-1", "messages": [{"role": "user", "content": "Hello"}]}
    answer = httpx.post(f"{server.base_url}/v1/chat/completions", json=body, headers=AUTH)
    assert answer.status_code == 200
    time.sleep(0.5)
    curls = [command for command in usage_commands() if command.startswith("curl")]
    assert len(curls) == 4
    own, by_key, by_day, newest = curls
    report = json.loads(run(own, server, tmp_path))["report"]
    assert (report["group_by"], report["from"]) == ("model", "2026-12-01T00:00:00.000Z")
    keys = json.loads(run(by_key.replace("2026-12-05", "2999-01-01"), server, tmp_path))
    assert keys["rows"][0]["requests"] >= 1
    run(by_day, server, tmp_path)
    table = list(csv.reader(io.StringIO((tmp_path / "usage-by-day.csv").read_text())))
    assert table[0][0] == "group" and len(table) == 2
    key_id = keys["rows"][0]["group"]
    records = json.loads(run(newest.replace("key_0a1b2c3d4e5f", key_id), server, tmp_path))
    assert records["data"][0]["key_id"] == key_id
