"""`python -m bench --smoke` runs every scenario for a few seconds and fails only on errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.floor_targets import evaluate
from bench.options import SCENARIOS
from bench.report import COLUMNS, ERROR
from bench.scenarios import SCENARIO_RUNNERS
from bench.tools import missing_tools
from quart_llm.config.paths import ROOT_PATH


def table_rows(markdown: str, header: str = "| Scenario |") -> list[list[str]]:
    """The rows of the table whose header line starts with `header`."""
    rows: list[list[str]] = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith(header):
            inside = True
        elif inside and not line.startswith("|"):
            break
        elif inside and line.startswith("| "):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


@pytest.mark.timeout(300)
def test_smoke_run_covers_every_scenario_without_errors(tmp_path: Path) -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(missing[0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--results-dir", str(tmp_path)],
        cwd=ROOT_PATH,
        env=env,
        capture_output=True,
        text=True,
        timeout=290,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    markdown = (tmp_path / "latest.md").read_text()
    rows = table_rows(markdown)
    assert all(len(row) == len(COLUMNS) for row in rows), rows
    labels = {row[0] for row in rows}
    for name in SCENARIOS:
        assert SCENARIO_RUNNERS[name][0] in labels, f"no row for scenario {name}:\n{markdown}"
    assert not [row for row in rows if row[-1] == ERROR], markdown
    assert len(list(tmp_path.glob("*.md"))) == 2
    targets = table_rows(markdown, "| Target |")
    results = json.loads((tmp_path / "latest.json").read_text())
    assert [row[0] for row in targets] == [item["target"] for item in results["targets"]]
    assert len(targets) == len(evaluate({})), markdown
    assert len(results["rows"]) == len(rows)
    assert len(list(tmp_path.glob("*.json"))) == 2
