"""2. Whole answers at concurrency 32: requests per second against the bare passthrough, from
nginx's OpenAI-style answer and from its Ollama-style one."""

from __future__ import annotations

from bench import floor_targets
from bench.context import FLAVORS, FLOOR, OLLAMA, Context
from bench.report import Row, rate, ratio, times, verdict
from bench.scenarios.common import (
    best_passthrough,
    compare,
    describe_passthroughs,
    flavor_note,
    floor_row,
)

LABEL = "2 whole c=32"
TARGET_RATIO = 0.8
TARGET_RPS = 1000


def run(ctx: Context, rows: list[Row]) -> None:
    for flavor in FLAVORS:
        _run(ctx, rows, flavor)


def _run(ctx: Context, rows: list[Row], flavor: str) -> None:
    connections = ctx.options.connections
    targets = ctx.targets(stream=False, flavor=flavor)
    results = compare(ctx, f"throughput-{flavor}", targets, connections=connections)
    gateway, direct = results["gateway"], results["direct"]
    passthrough = best_passthrough(results)
    share = ratio(gateway.rps, passthrough.rps)
    note = flavor_note(flavor)
    rows.append(
        Row(
            LABEL,
            f"req/s at c={connections}{note}, gateway vs best bare passthrough",
            rate(gateway.rps),
            f"passthrough {describe_passthroughs(results)}; direct {rate(direct.rps)}",
            times(share),
            f"≥ {TARGET_RATIO:g}x passthrough",
            verdict(share >= TARGET_RATIO),
        )
    )
    rows.append(
        Row(
            LABEL,
            f"req/s at c={connections}{note}, absolute "
            f"(p50 {gateway.p50_ms:.2f} ms, p99 {gateway.p99_ms:.2f} ms)",
            rate(gateway.rps),
            "",
            "",
            f"≥ {TARGET_RPS:,} req/s",
            verdict(gateway.rps >= TARGET_RPS),
        )
    )
    if flavor != OLLAMA:
        ctx.record(floor_targets.WHOLE, "gateway", gateway.rps)
        if FLOOR in results:
            ctx.record(floor_targets.WHOLE, "floor", results[FLOOR].rps)
    floor = floor_row(LABEL, f"req/s at c={connections}{note}", results, "req/s")
    if floor is not None:
        rows.append(floor)
