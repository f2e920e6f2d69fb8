"""4. Paced streams: N concurrent streams of 64 deltas 20 ms apart, gateway beside direct,
beside a bare passthrough (minimal Quart relaying raw bytes: what the framework itself holds)
and beside the stack floor (the passthrough plus the required libraries, see bench/floor.py).

The upstream and the client are the C programs (see bench/paced_*.c). Connections start evenly
over one stream's length, then each runs its streams back to back, so N streams are open at
once for most of the run. Stall-free: no errors, added gap p99 (gap - 20 ms) ≤ 20 ms, median
lag (arrival - upstream write time) ≤ 20 ms. Errors on the lowest rung fail the run (the
harness or the gateway is broken); above it they are what the ladder is there to find.
"""

from __future__ import annotations

import time

from bench import bodies, floor_targets
from bench.context import Context, log
from bench.nginx import CHAT_PATH
from bench.paced import PacedLoad, PacedResult, paced_path, run_paced
from bench.report import Row, ms, verdict
from bench.tools import BenchError

LABEL = "4 paced streams"
MAX_ADDED_GAP_MS = 20.0
MAX_LAG_MS = 20.0
TARGET_STREAMS = 500


def _describe(result: PacedResult) -> str:
    errors = (
        f"{result.failed}/{result.planned} streams failed (by connection: "
        f"{result.describe_errors()})"
        if result.failed
        else "0 errors"
    )
    return (
        f"{errors}; added gap p99 {ms(result.added_gap_p99_ms)}; "
        f"lag p50 {ms(result.lag_p50_ms)}, p99 {ms(result.lag_p99_ms)}; max open {result.max_open}"
    )


def run(ctx: Context, rows: list[Row]) -> None:
    options = ctx.options
    client = ctx.binaries()["paced_client"]
    paced = ctx.paced()
    gateway = ctx.gateway()
    passthrough_client, passthrough_port = ctx.paced_passthrough()
    floor_port = ctx.paced_floor()
    ramp_ms = options.paced_deltas * options.paced_interval_ms
    direct_path = paced_path(options.paced_deltas, options.paced_interval_ms) + CHAT_PATH
    # (name, port, path, model); the direct baseline first, the gateway last.
    paths = [
        ("direct", paced.port, direct_path, "paced"),
        (f"passthrough-{passthrough_client}", passthrough_port, direct_path, "paced"),
    ]
    if floor_port is not None:
        paths.append(("stack floor", floor_port, "/v1/chat/completions", "paced"))
    paths.append(("gateway", gateway.port, "/v1/chat/completions", "paced/paced"))

    def load(port: int, path: str, model: str, streams: int) -> PacedLoad:
        return PacedLoad(
            port=port,
            path=path,
            model=model,
            key=bodies.API_KEY,
            streams=streams,
            repeats=options.paced_repeats,
            deltas=options.paced_deltas,
            interval_ms=options.paced_interval_ms,
            ramp_ms=ramp_ms,
        )

    best = dict.fromkeys((name for name, *_ in paths), 0)
    broken = dict.fromkeys(best, False)
    for rung, streams in enumerate(options.paced_ladder):
        results: dict[str, PacedResult] = {}
        for name, port, path, model in paths:
            if results:
                time.sleep(0.5)
            log(f"paced: N={streams} {name}")
            result = results[name] = run_paced(client, load(port, path, model, streams))
            broken[name] = broken[name] or not result.stall_free(MAX_ADDED_GAP_MS, MAX_LAG_MS)
            best[name] = best[name] if broken[name] else streams
        through, direct = results["gateway"], results["direct"]
        baselines = " | ".join(
            f"{name}: {_describe(result)}" for name, result in results.items() if name != "gateway"
        )
        rows.append(
            Row(
                LABEL,
                f"N={streams} x {options.paced_repeats} streams of {options.paced_deltas} deltas "
                f"every {options.paced_interval_ms} ms",
                _describe(through),
                baselines,
                "",
                f"no errors, added gap p99 ≤ {MAX_ADDED_GAP_MS:g} ms, lag p50 ≤ {MAX_LAG_MS:g} ms",
                verdict(through.stall_free(MAX_ADDED_GAP_MS, MAX_LAG_MS)),
            )
        )
        if direct.failed:
            raise BenchError(
                f"paced: the direct baseline failed at N={streams}: {direct.describe_errors()}"
            )
        if rung == 0 and through.failed:
            raise BenchError(
                f"paced: the gateway failed at N={streams}: {through.describe_errors()}"
            )
        time.sleep(1.0)
    ctx.record(floor_targets.PACED, "gateway", best["gateway"])
    if "stack floor" in best:
        ctx.record(floor_targets.PACED, "floor", best["stack floor"])
    rows.append(
        Row(
            LABEL,
            f"largest stall-free N (it and every smaller rung) of "
            f"{', '.join(map(str, options.paced_ladder))}",
            str(best["gateway"]) if best["gateway"] else "none",
            "; ".join(f"{name} {best[name] or 'none'}" for name in best if name != "gateway"),
            "",
            f"≥ {TARGET_STREAMS}",
            verdict(best["gateway"] >= TARGET_STREAMS),
        )
    )
