"""1. Whole answers at concurrency 1: latency the gateway adds over calling nginx directly."""

from __future__ import annotations

from bench import floor_targets
from bench.context import FLOOR, Context
from bench.report import Row, ms, signed_ms, verdict
from bench.scenarios.common import best_passthrough, compare

LABEL = "1 whole c=1"
TARGET_P50_MS = 1.0
TARGET_P99_MS = 2.0


def run(ctx: Context, rows: list[Row]) -> None:
    results = compare(ctx, "latency", ctx.targets(stream=False), connections=1)
    direct, gateway = results["direct"], results["gateway"]
    passthrough = best_passthrough(results)
    ctx.record(floor_targets.LATENCY, "gateway", gateway.p50_ms - direct.p50_ms)
    if FLOOR in results:
        ctx.record(floor_targets.LATENCY, "floor", results[FLOOR].p50_ms - direct.p50_ms)
    for name, target in (("p50", TARGET_P50_MS), ("p99", TARGET_P99_MS)):
        value = getattr(gateway, f"{name}_ms")
        base = getattr(direct, f"{name}_ms")
        bare = getattr(passthrough, f"{name}_ms")
        added = value - base
        baseline = f"direct {ms(base)}; {passthrough.name} {signed_ms(bare - base)}"
        if FLOOR in results:
            floor = getattr(results[FLOOR], f"{name}_ms")
            baseline += f"; stack floor {signed_ms(floor - base)}"
        rows.append(
            Row(
                LABEL,
                f"added latency {name} (gateway {name} - direct {name})",
                f"{signed_ms(added)} ({name} {ms(value)})",
                baseline,
                "",
                f"≤ {target:g} ms",
                verdict(added <= target),
            )
        )
