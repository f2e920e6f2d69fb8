"""bench/cpu_per_answer.py run for one short round against this checkout and the floor."""

from __future__ import annotations

import os
import time

import pytest

from bench import cpu_per_answer
from bench.tools import missing_tools


def test_process_cpu_seconds_counts_this_process_work() -> None:
    before = cpu_per_answer.process_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert cpu_per_answer.process_cpu_seconds(os.getpid()) - before >= 0.04


@pytest.mark.skipif(bool(missing_tools()), reason="the bench's tools are not installed")
def test_one_round_reports_every_target_and_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert cpu_per_answer.main(["--floor", "--rounds", "1", "--seconds", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 2 * 2  # header, separator; gateway and floor, whole and stream
    for row in rows[2:]:
        cpu_ms = float(row.split("|")[3].split()[0])
        assert cpu_ms > 0
