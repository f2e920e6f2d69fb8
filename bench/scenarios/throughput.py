"""2. Whole answers at concurrency 32: requests per second against the bare passthrough."""

from __future__ import annotations

from bench.context import Context
from bench.report import Row, rate, ratio, times, verdict
from bench.scenarios.common import best_passthrough, compare, describe_passthroughs, floor_row

LABEL = "2 whole c=32"
TARGET_RATIO = 0.8
TARGET_RPS = 1000


def run(ctx: Context, rows: list[Row]) -> None:
    connections = ctx.options.connections
    results = compare(ctx, "throughput", ctx.targets(stream=False), connections=connections)
    gateway, direct = results["gateway"], results["direct"]
    passthrough = best_passthrough(results)
    share = ratio(gateway.rps, passthrough.rps)
    rows.append(
        Row(
            LABEL,
            f"req/s at c={connections}, gateway vs best bare passthrough",
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
            f"req/s at c={connections}, absolute "
            f"(p50 {gateway.p50_ms:.2f} ms, p99 {gateway.p99_ms:.2f} ms)",
            rate(gateway.rps),
            "",
            "",
            f"≥ {TARGET_RPS:,} req/s",
            verdict(gateway.rps >= TARGET_RPS),
        )
    )
    floor = floor_row(LABEL, f"req/s at c={connections}", results, "req/s")
    if floor is not None:
        rows.append(floor)
