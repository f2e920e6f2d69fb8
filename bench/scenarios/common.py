"""Side-by-side load runs: every target in turn, round after round, so drift hits all alike."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from bench.context import FLOOR, OLLAMA, Context, Target, log
from bench.report import Row, rate, ratio, times
from bench.tools import BenchError
from bench.wrk import WrkResult, run_wrk, write_script


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One target's rounds: medians of the latency percentiles, throughput over all rounds."""

    name: str
    runs: list[WrkResult]

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.p99_ms for run in self.runs)

    @property
    def rps(self) -> float:
        seconds = sum(run.seconds for run in self.runs)
        return sum(run.requests for run in self.runs) / seconds if seconds else 0.0

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)


def compare(
    ctx: Context, label: str, targets: list[Target], connections: int
) -> dict[str, Aggregate]:
    """Run wrk against each target, interleaved over the rounds; any error stops the run."""
    options = ctx.options
    scripts = {
        target.name: write_script(ctx.work_dir / f"{label}-{target.name}.lua", [target.request])
        for target in targets
    }

    def one(target: Target, seconds: int) -> WrkResult:
        result = run_wrk(
            ctx.tools.wrk,
            target.base_url,
            scripts[target.name],
            connections=connections,
            seconds=seconds,
        )
        if result.error_count or result.requests == 0:
            problem = result.describe_errors() or "no requests"
            raise BenchError(f"{label}: {target.name} answered with errors: {problem}")
        return result

    if options.warmup:
        for target in targets:
            one(target, options.warmup)
    runs: dict[str, list[WrkResult]] = {target.name: [] for target in targets}
    for round_index in range(options.rounds):
        order = targets if round_index % 2 == 0 else list(reversed(targets))
        for target in order:
            log(f"{label}: {target.name} c={connections} round {round_index + 1}/{options.rounds}")
            runs[target.name].append(one(target, options.duration))
    return {name: Aggregate(name, results) for name, results in runs.items()}


def best_passthrough(results: dict[str, Aggregate]) -> Aggregate:
    candidates = [agg for name, agg in results.items() if name.startswith("passthrough-")]
    if not candidates:
        raise BenchError("no passthrough baseline ran")
    return max(candidates, key=lambda agg: agg.rps)


def describe_passthroughs(
    results: dict[str, Aggregate], unit: str = "req/s", factor: float = 1.0
) -> str:
    return "; ".join(
        f"{name.removeprefix('passthrough-')} {agg.rps * factor:,.0f} {unit}"
        for name, agg in results.items()
        if name.startswith("passthrough-")
    )


def floor_row(
    label: str, measure: str, results: dict[str, Aggregate], unit: str, factor: float = 1.0
) -> Row | None:
    """The gateway against the stack floor (bench/floor.py), when it ran: a diagnostic beside
    the targets, which stay set against the bare passthrough."""
    floor = results.get(FLOOR)
    if floor is None:
        return None
    gateway, passthrough = results["gateway"], best_passthrough(results)
    return Row(
        label,
        f"{measure}, gateway vs the stack floor (the passthrough plus the required libraries)",
        rate(gateway.rps * factor, unit),
        f"stack floor {rate(floor.rps * factor, unit)}, "
        f"{times(ratio(floor.rps, passthrough.rps))} of {passthrough.name}",
        times(ratio(gateway.rps, floor.rps)),
    )


def flavor_note(flavor: str) -> str:
    """What a measure adds when its upstream speaks Ollama's native API."""
    return ", Ollama upstream" if flavor == OLLAMA else ""
