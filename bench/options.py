"""Run options: the full run's defaults, and the smoke preset (seconds, for CI)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields, replace
from pathlib import Path

from bench.paths import RESULTS_DIR

SCENARIOS = (
    "startup",
    "latency",
    "throughput",
    "streams",
    "http2",
    "paced",
    "memory",
    "tracing",
    "surfaces",
)


@dataclass(frozen=True, slots=True)
class Options:
    smoke: bool = False
    only: tuple[str, ...] = SCENARIOS
    duration: int = 5
    rounds: int = 3
    warmup: int = 2
    connections: int = 32
    # Fine steps from 200 to 500, where this machine's stall-free N falls for the gateway and
    # for the bare passthrough alike.
    paced_ladder: tuple[int, ...] = (100, 200, 250, 300, 350, 400, 500, 750, 1000)
    paced_repeats: int = 3
    paced_deltas: int = 64
    paced_interval_ms: int = 20
    idle_streams: int = 2000
    soak_seconds: int = 300
    soak_interval: int = 10
    soak_connections: int = 4
    h2_streams: int = 100
    h2_requests: int = 1000
    startup_runs: int = 3
    results_dir: Path = RESULTS_DIR


SMOKE = Options(
    smoke=True,
    duration=1,
    rounds=1,
    warmup=0,
    paced_ladder=(50,),
    paced_repeats=1,
    paced_deltas=32,
    idle_streams=200,
    soak_seconds=5,
    soak_interval=1,
    h2_requests=100,
    startup_runs=1,
)


def _ladder(text: str) -> tuple[int, ...]:
    values = tuple(int(part) for part in text.split(",") if part.strip())
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("a comma-separated list of positive stream counts")
    return tuple(sorted(set(values)))


def _scenario(text: str) -> str:
    if text not in SCENARIOS:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {text!r}; one of {', '.join(SCENARIOS)}"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark the gateway against nginx and a bare passthrough, side by side, on "
            "127.0.0.1. Prints a table and writes it as Markdown. Defaults are the full run "
            "(10 to 15 minutes); --smoke runs every scenario for seconds and fails only on errors."
        ),
    )
    parser.add_argument("--smoke", action="store_true", help="a few seconds per scenario (CI)")
    parser.add_argument(
        "--only",
        type=_scenario,
        action="append",
        help=f"run only this scenario: {', '.join(SCENARIOS)}",
    )
    integer_options = {
        "duration": "seconds per measured load run",
        "rounds": "interleaved rounds per comparison (the median/aggregate is reported)",
        "warmup": "seconds of unrecorded load before comparisons",
        "connections": "concurrency of the throughput and stream scenarios",
        "paced_repeats": "streams per connection, back to back, in the paced scenario",
        "paced_deltas": "deltas per paced stream",
        "paced_interval_ms": "pace of the deltas",
        "idle_streams": "open idle streams for the memory measurement",
        "soak_seconds": "length of the memory soak",
        "soak_interval": "seconds between RSS samples in the soak",
        "soak_connections": "connections of the soak load (each pausing 20 ms per request)",
        "h2_streams": "concurrent streams on the one HTTP/2 connection",
        "h2_requests": "requests in the HTTP/2 run",
        "startup_runs": "start-ups measured (the median is reported)",
    }
    for name, help_text in integer_options.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, help=help_text)
    parser.add_argument("--paced-ladder", type=_ladder, help="stream counts, e.g. 100,250,500")
    parser.add_argument("--results-dir", type=Path, help="where the Markdown goes")
    return parser


def parse_options(argv: list[str] | None = None) -> Options:
    args = build_parser().parse_args(argv)
    base = SMOKE if args.smoke else Options()
    changes = {
        field.name: getattr(args, field.name)
        for field in fields(Options)
        if field.name not in ("smoke", "only") and getattr(args, field.name, None) is not None
    }
    for name, value in changes.items():
        if isinstance(value, int) and value <= 0 and name != "warmup":
            raise SystemExit(f"--{name.replace('_', '-')} must be positive")
    only = tuple(name for name in SCENARIOS if args.only and name in args.only) or SCENARIOS
    return replace(base, only=only, **changes)
