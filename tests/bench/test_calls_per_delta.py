"""bench/calls_per_delta.py: the profile arithmetic, and one short count of this checkout."""

from __future__ import annotations

import pstats
import subprocess
import sys
from pathlib import Path

import pytest

from bench import calls_per_delta
from bench.calls_per_delta import Function
from bench.tools import missing_tools

HERE: Function = ("/x/site-packages/quart/app.py", 10, "handle")
OURS: Function = ("/work/main/quart_llm/streaming/handoff.py", 40, "get")
BUILTIN: Function = ("~", 0, "<built-in method builtins.len>")


def test_per_delta_is_the_difference_of_two_loads_over_their_deltas() -> None:
    small = {HERE: 100, OURS: 50, BUILTIN: 7}
    large = {HERE: 500, OURS: 50, BUILTIN: 407}
    assert calls_per_delta.per_delta(small, large, 200) == {HERE: 2.0, BUILTIN: 2.0}


def test_function_names_start_at_the_package() -> None:
    assert calls_per_delta.function_name(HERE) == "quart/app.py:10(handle)"
    assert calls_per_delta.function_name(OURS) == "quart_llm/streaming/handoff.py:40(get)"
    assert calls_per_delta.function_name(BUILTIN) == "<built-in method builtins.len>"


def test_report_lists_totals_then_the_first_target_s_busiest_functions() -> None:
    counts = [{HERE: 3.0, OURS: 1.5}, {HERE: 2.0}]
    lines = calls_per_delta.report(["gateway-0", "floor"], counts, top=1).splitlines()
    assert lines[2:4] == ["| gateway-0 | 4.5 |", "| floor | 2.0 |"]
    assert lines[-1] == "| `quart/app.py:10(handle)` | 3.00 | 2.00 |"


def test_the_profiled_command_writes_the_calls_of_main(tmp_path: Path) -> None:
    (tmp_path / "counted.py").write_text(
        "import sys\n\ndef step():\n    pass\n\n"
        "def main(argv):\n    for _ in range(int(argv[0])):\n        step()\n    sys.exit(0)\n"
    )
    output = tmp_path / "out.prof"
    command = calls_per_delta.profiled_command(Path(sys.executable), "counted", ["3"], output)
    subprocess.run(command, cwd=tmp_path, check=True, timeout=60)
    stats = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    steps = [row[1] for (_, _, name), row in stats.items() if name == "step"]
    assert steps == [3]


@pytest.mark.skipif(bool(missing_tools()), reason="the bench's tools are not installed")
def test_one_short_count_of_this_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    assert calls_per_delta.main(["--streams", "4", "--top", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = float(lines[2].split("|")[2])
    assert lines[2].startswith("| gateway-0 |")
    assert 20 < total < 2_000  # a delta is tens to hundreds of calls, never none
    assert len([line for line in lines if line.startswith("| `")]) == 5
