"""Python calls per paced delta of several checkouts (and the stack floor), counted.

    .venv/bin/python -m bench.calls_per_delta --root . --root /path/to/other [--floor]

Each target runs under cProfile in front of the paced upstream (`paced_upstream.c`: 64 deltas
20 ms apart per answer) and serves two loads that differ only in their number of streams; the
difference of the two profiles, divided by the deltas that make it, is what one more delta
costs with its share of its request (one request per 64 deltas), start-up and warm-up left
out. The gateway runs as `cpu_per_answer` runs it (this checkout's production environment,
the bench's gateway settings, `cwd` the checkout).

Why: the paced scenario's stall-free N is bounded by what one delta costs on the event loop,
and CPU time moves by a tenth or more from run to run on a shared machine, while counted calls
do not: a change that saves one call per delta shows as one fewer on every run. Calls are not
time (a builtin costs a fraction of a Python function), so the table is where to look, and
`cpu_per_answer` or the paced ladder says what it is worth. Run by hand; every load is bounded
(two paced runs per target, each `--streams` streams of two answers).
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench import bodies
from bench.gateway import Upstreams, gateway_environment
from bench.nginx import CHAT_PATH
from bench.paced import PacedLoad, PacedUpstream, compile_programs, paced_path, run_paced
from bench.paths import ROOT
from bench.processes import ManagedProcess, wait_until_ok
from bench.runtime import production_python
from bench.tools import find_tools, free_port

DELTAS = 64
INTERVAL_MS = 20
REPEATS = 2
BASE_STREAMS = 10
"""The smaller load: its profile holds start-up and warm-up, which the difference removes."""

Function = tuple[str, int, str]
"""cProfile's key: file, line, name."""


@dataclass(frozen=True, slots=True)
class Subject:
    """One process to count: how it is started and how it is asked for a paced answer."""

    name: str
    module: str
    arguments: list[str]
    cwd: Path
    env: Mapping[str, str] | None
    health_path: str
    model: str


def profiled_command(python: Path, module: str, arguments: list[str], output: Path) -> list[str]:
    """`module.main(arguments)` under cProfile, its profile written to `output` on exit.

    Not `python -m cProfile -m module`: that runs the module as `__main__`, where pydantic
    cannot resolve the stack floor's postponed annotations."""
    code = (
        "import cProfile, sys\n"
        f"from {module} import main\n"
        f"cProfile.runctx('main(sys.argv[1:])', globals(), locals(), {str(output)!r})"
    )
    return [str(python), "-c", code, *arguments]


def count_calls(
    subject: Subject, streams: int, python: Path, client: Path, work: Path
) -> dict[Function, int]:
    """Calls per function of one run of the subject serving `streams` paced streams."""
    port = free_port()
    output = work / f"{subject.name}-{streams}.prof"
    arguments = [*subject.arguments, "--bind", f"127.0.0.1:{port}"]
    command = profiled_command(python, subject.module, arguments, output)
    process = ManagedProcess(
        f"{subject.name}-{streams}", command, work, env=subject.env, cwd=subject.cwd
    )
    process.start()
    try:
        wait_until_ok(process, port, subject.health_path, timeout=60)
        load = PacedLoad(
            port=port,
            path="/v1" + CHAT_PATH,
            model=subject.model,
            key=bodies.API_KEY,
            streams=streams,
            repeats=REPEATS,
            deltas=DELTAS,
            interval_ms=INTERVAL_MS,
            ramp_ms=DELTAS * INTERVAL_MS,
        )
        result = run_paced(client, load)
    finally:
        process.stop()
    if result.ok != streams * REPEATS:
        raise SystemExit(f"{subject.name}: {result.ok} of {streams * REPEATS} answers were whole")
    # (primitive calls, calls, own time, cumulative time, callers) per function; typeshed
    # leaves the attribute out.
    stats: Mapping[Function, tuple[int, int, float, float, object]]
    stats = pstats.Stats(str(output)).stats  # type: ignore[attr-defined]
    return {function: row[1] for function, row in stats.items()}


def per_delta(
    small: dict[Function, int], large: dict[Function, int], deltas: int
) -> dict[Function, float]:
    """Calls per delta of each function: the larger load's count less the smaller's."""
    return {
        function: (calls - small.get(function, 0)) / deltas
        for function, calls in large.items()
        if calls > small.get(function, 0)
    }


def subjects(roots: list[Path], floor: bool, upstream: PacedUpstream) -> list[Subject]:
    """A gateway per checkout, routing `paced/…` to the paced upstream; the floor relays the
    same pace."""
    pace = upstream.base_url(DELTAS, INTERVAL_MS)
    found = [
        Subject(
            name=f"gateway-{index}",
            module="quart_llm.cli",
            arguments=["serve"],
            cwd=root,
            env=gateway_environment(Upstreams({"paced": pace})),
            health_path="/v1/health",
            model="paced/paced",
        )
        for index, root in enumerate(roots)
    ]
    if floor:
        stream_path = paced_path(DELTAS, INTERVAL_MS) + CHAT_PATH
        arguments = ["--upstream", f"http://127.0.0.1:{upstream.port}"]
        found.append(
            Subject(
                name="floor",
                module="bench.floor",
                arguments=[*arguments, "--stream-path", stream_path],
                cwd=ROOT,
                env=None,
                health_path="/health",
                model="paced",
            )
        )
    return found


def function_name(function: Function) -> str:
    """`package/module.py:line(name)`, the path from the site-packages or checkout down."""
    path, line, name = function
    if path == "~":
        return name
    parts = Path(path).parts
    for anchor in ("site-packages", "quart_llm", "bench"):
        if anchor in parts:
            start = parts.index(anchor) + (anchor == "site-packages")
            path = "/".join(parts[start:])
            break
    return f"{path}:{line}({name})"


def report(names: list[str], counts: list[dict[Function, float]], top: int) -> str:
    """Calls per delta of each target, then the `top` functions by calls in the first target
    with every target's count beside them."""
    lines = ["| Target | Python calls per delta |", "|---|---|"]
    totals = zip(names, counts, strict=True)
    lines += [f"| {name} | {sum(count.values()):.1f} |" for name, count in totals]
    lines += ["", "| Function | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    first = counts[0]
    for function in sorted(first, key=first.__getitem__, reverse=True)[:top]:
        cells = " | ".join(f"{count.get(function, 0.0):.2f}" for count in counts)
        lines.append(f"| `{function_name(function)}` | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calls_per_delta", description=__doc__)
    parser.add_argument("--root", action="append", type=Path, help="a checkout (repeatable)")
    parser.add_argument("--floor", action="store_true", help="count the stack floor too")
    parser.add_argument("--streams", type=int, default=40, help="streams the larger load adds")
    parser.add_argument("--top", type=int, default=30, help="functions listed")
    args = parser.parse_args(argv)
    roots = [root.resolve() for root in (args.root or [ROOT])]
    tools = find_tools()
    python = production_python()
    deltas = args.streams * REPEATS * DELTAS
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as directory:
        work = Path(directory)
        binaries = compile_programs(tools.cc, work)
        upstream = PacedUpstream(binaries["paced_upstream"], work).start()
        try:
            found = subjects(roots, args.floor, upstream)
            counts = []
            for subject in found:
                small = count_calls(subject, BASE_STREAMS, python, binaries["paced_client"], work)
                large = count_calls(
                    subject, BASE_STREAMS + args.streams, python, binaries["paced_client"], work
                )
                counts.append(per_delta(small, large, deltas))
        finally:
            upstream.stop()
    print(report([subject.name for subject in found], counts, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
