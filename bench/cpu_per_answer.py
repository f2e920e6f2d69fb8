"""CPU time per answer of several checkouts (and the stack floor), side by side.

    .venv/bin/python -m bench.cpu_per_answer --root . --root /path/to/other [--floor]

Each `--root` (default: this checkout) is served by `python -m quart_llm serve` from that
directory, with this checkout's production environment and the bench's gateway settings
(`bench/gateway.py`: the shipped settings, keys, unreachable quotas, logs on), in front of
nginx's whole and streamed OpenAI-style answers; `--floor` adds the stack floor. wrk loads each
in turn at c=32, round after round in alternating order, and the process's own CPU time (user
and system, from /proc/<pid>/stat) is divided by the answers it gave.

Why: on a shared machine answers per second move by a tenth from one run to the next, while
the CPU an answer costs moves less, and comparing two checkouts run by run (the same rounds,
interleaved) tells a change's cost from a noisy neighbour's. The gateway is one process on one
core, so its answers per second are bounded by this figure. A diagnostic, run by hand; not
part of `./dev bench`. Every run is bounded: `--rounds` x targets x kinds wrk runs of
`--seconds` each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import bodies
from bench.gateway import Upstreams, auth_headers, gateway_environment
from bench.nginx import CHAT_PATH, STREAM_PREFIX, WHOLE_PREFIX, NginxUpstream
from bench.paths import ROOT
from bench.processes import ManagedProcess, wait_until_ok
from bench.runtime import production_python
from bench.tools import find_tools, free_port
from bench.wrk import LoadRequest, run_wrk, write_script

KINDS = ("whole", "stream")
PROVIDERS = {"whole": "whole", "stream": "sse"}
WARMUP_SECONDS = 3.0


@dataclass
class Target:
    """One process under load: a checkout's gateway, or the floor."""

    name: str
    process: ManagedProcess
    port: int
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    rates: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})


def process_cpu_seconds(pid: int) -> float:
    """User plus system time of a process so far (every thread)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request_for(target: Target, kind: str) -> LoadRequest:
    """The gateway routes by its provider prefix; the floor relays the upstream's own body."""
    stream = kind == "stream"
    model = bodies.MODEL if target.name == "floor" else f"{PROVIDERS[kind]}/{bodies.MODEL}"
    return LoadRequest(f"/v1{CHAT_PATH}", bodies.chat_request(model, stream=stream), auth_headers())


def start_targets(
    roots: list[Path], floor: bool, nginx: NginxUpstream, python: Path, work: Path
) -> list[Target]:
    upstreams = Upstreams(
        {"whole": nginx.base_url + WHOLE_PREFIX, "sse": nginx.base_url + STREAM_PREFIX}
    )
    targets = []
    for index, root in enumerate(roots):
        port = free_port()
        command = [str(python), "-m", "quart_llm", "serve", "--bind", f"127.0.0.1:{port}"]
        process = ManagedProcess(
            f"gateway-{index}", command, work, env=gateway_environment(upstreams), cwd=root
        )
        process.start()
        wait_until_ok(process, port, "/v1/health", timeout=60)
        targets.append(Target(f"{index}:{root}", process, port))
    if floor:
        port = free_port()
        command = [str(python), "-m", "bench.floor", "--bind", f"127.0.0.1:{port}"]
        process = ManagedProcess("floor", [*command, "--upstream", nginx.base_url], work, cwd=ROOT)
        process.start()
        wait_until_ok(process, port, "/health", timeout=60)
        targets.append(Target("floor", process, port))
    return targets


def measure(args: argparse.Namespace, targets: list[Target], wrk: str, work: Path) -> None:
    scripts = {}
    for target in targets:
        for kind in KINDS:
            path = work / f"{target.process.name}-{kind}.lua"
            scripts[target.name, kind] = write_script(path, [request_for(target, kind)])
    for kind in KINDS:
        for target in targets:
            url = f"http://127.0.0.1:{target.port}"
            run_wrk(wrk, url, scripts[target.name, kind], connections=32, seconds=WARMUP_SECONDS)
    for round_index in range(args.rounds):
        order = targets if round_index % 2 == 0 else targets[::-1]
        for kind in KINDS:
            for target in order:
                before = process_cpu_seconds(target.process.pid)
                result = run_wrk(
                    wrk,
                    f"http://127.0.0.1:{target.port}",
                    scripts[target.name, kind],
                    connections=args.connections,
                    seconds=args.seconds,
                )
                used = process_cpu_seconds(target.process.pid) - before
                if result.error_count:
                    raise SystemExit(f"{target.name} {kind}: {result.describe_errors()}")
                target.cpu_ms[kind].append(used * 1000 / max(result.requests, 1))
                target.rates[kind].append(result.rps)


def report(targets: list[Target]) -> str:
    lines = ["| Target | Answers | CPU ms per answer (median, min-max) | Answers/s (median) |"]
    lines.append("|---|---|---|---|")
    for kind in KINDS:
        for target in targets:
            cpu = target.cpu_ms[kind]
            lines.append(
                f"| {target.name} | {kind} | {statistics.median(cpu):.3f} "
                f"({min(cpu):.3f}-{max(cpu):.3f}) | {statistics.median(target.rates[kind]):,.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_per_answer", description=__doc__)
    parser.add_argument("--root", action="append", type=Path, help="a checkout (repeatable)")
    parser.add_argument("--floor", action="store_true", help="measure the stack floor too")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    roots = [root.resolve() for root in (args.root or [ROOT])]
    tools = find_tools()
    python = production_python()
    with tempfile.TemporaryDirectory(prefix="bench-cpu-") as directory:
        work = Path(directory)
        nginx = NginxUpstream(tools.nginx, work / "nginx").start()
        targets: list[Target] = []
        try:
            targets = start_targets(roots, args.floor, nginx, python, work)
            measure(args, targets, tools.wrk, work)
        finally:
            for target in targets:
                target.process.stop()
            nginx.stop()
    print(report(targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
