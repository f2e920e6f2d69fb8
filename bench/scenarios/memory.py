"""5. Memory: RSS growth per open idle stream, and flatness over a soak.

Each part gets a fresh gateway, so memory freed by earlier scenarios cannot hide growth.
Idle streams come from the paced upstream's `/p2x600000` pace: one delta, then ten minutes of
silence; they are held open by the C client until every stream has its first delta, RSS
(`VmRSS` in /proc/<pid>/status) is read, then they are closed. A few streams are opened and
closed first, so one-time start-up allocations do not count as per-stream growth.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from bench import bodies
from bench.context import Context, log
from bench.gateway import Gateway, auth_headers
from bench.paced import HeldStreams, PacedLoad
from bench.report import Row, verdict
from bench.tools import BenchError
from bench.wrk import LoadRequest, parse_wrk_output, write_script

LABEL = "5 memory"
TARGET_KIB_PER_STREAM = 32.0
TARGET_DRIFT = 0.05
WARMUP_STREAMS = 50
SOAK_PAUSE_MS = 20


def _held(ctx: Context, gateway: Gateway, streams: int) -> HeldStreams:
    load = PacedLoad(
        port=gateway.port,
        path="/v1/chat/completions",
        model="idle/idle",
        key=bodies.API_KEY,
        streams=streams,
        repeats=1,
        deltas=2,
        interval_ms=600_000,
        ramp_ms=max(100, streams // 2),
    )
    return HeldStreams(ctx.binaries()["paced_client"], load, hold_ms=120_000)


def _settled_rss(gateway: Gateway, seconds: float) -> int:
    time.sleep(seconds)
    samples = []
    for _ in range(5):
        samples.append(gateway.rss_kib())
        time.sleep(0.1)
    return int(statistics.median(samples))


def _settle(ctx: Context) -> float:
    return 0.2 if ctx.options.smoke else 1.0


def _hold(ctx: Context, gateway: Gateway, streams: int) -> int:
    """Open `streams` idle streams, return the RSS while they are open, then close them."""
    held = _held(ctx, gateway, streams)
    held.open(timeout=60 + streams / 100)
    try:
        rss = _settled_rss(gateway, _settle(ctx))
    finally:
        result = held.close()
    if result is None or result.failed or result.ok != streams:
        detail = result.describe_errors() if result else "no result"
        raise BenchError(f"memory: could not hold {streams} streams open: {detail}")
    return rss


def idle_streams(ctx: Context, rows: list[Row]) -> None:
    streams = ctx.options.idle_streams
    gateway = ctx.new_gateway("gateway-memory", idle=True)
    gateway.start()
    _hold(ctx, gateway, WARMUP_STREAMS)
    before = _settled_rss(gateway, _settle(ctx))
    log(f"memory: opening {streams} idle streams (RSS before {before / 1024:.1f} MiB)")
    during = _hold(ctx, gateway, streams)
    per_stream = (during - before) / streams
    gateway.stop()
    rows.append(
        Row(
            LABEL,
            f"RSS growth per open idle stream, {streams:,} open",
            f"{per_stream:.1f} KiB",
            f"RSS {before / 1024:.1f} MiB before, {during / 1024:.1f} MiB with {streams:,} open",
            "",
            f"≤ {TARGET_KIB_PER_STREAM:g} KiB",
            verdict(per_stream <= TARGET_KIB_PER_STREAM),
        )
    )


def soak(ctx: Context, rows: list[Row]) -> None:
    options = ctx.options
    gateway = ctx.new_gateway("gateway-soak")
    gateway.start()
    idle_rss = gateway.rss_kib()
    requests = [
        LoadRequest(
            "/v1/chat/completions",
            bodies.chat_request(f"whole/{bodies.MODEL}", stream=False),
            auth_headers(),
        ),
        LoadRequest(
            "/v1/chat/completions",
            bodies.chat_request(f"sse/{bodies.MODEL}", stream=True),
            auth_headers(),
        ),
    ]
    script = write_script(ctx.work_dir / "soak.lua", requests, delay_ms=SOAK_PAUSE_MS)
    command = [
        ctx.tools.wrk,
        "-t1",
        f"-c{options.soak_connections}",
        f"-d{options.soak_seconds}s",
        "--timeout=10s",
        "-s",
        str(script),
        gateway.base_url,
    ]
    log(f"memory: soak of {options.soak_seconds} s, RSS every {options.soak_interval} s")
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[int] = []
    try:
        started = time.monotonic()
        next_sample = started + options.soak_interval
        while load.poll() is None and time.monotonic() < started + options.soak_seconds + 30:
            if (
                time.monotonic() >= next_sample
                and time.monotonic() < started + options.soak_seconds
            ):
                samples.append(gateway.rss_kib())
                next_sample += options.soak_interval
            time.sleep(0.05)
        stdout, stderr = load.communicate(timeout=30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(5)
    gateway.stop()
    result = parse_wrk_output(stdout, stderr, load.returncode)
    if result.error_count or result.requests == 0:
        raise BenchError(
            f"memory: the soak load saw errors: {result.describe_errors() or 'no requests'}"
        )
    if len(samples) < 2:
        raise BenchError("memory: the soak took fewer than two RSS samples")
    first, last, peak = samples[0], samples[-1], max(samples)
    drift = (last - first) / first
    rows.append(
        Row(
            LABEL,
            f"RSS over a {options.soak_seconds} s soak ({result.rps:,.0f} req/s, whole and "
            f"streamed, c={options.soak_connections}, {len(samples)} samples every "
            f"{options.soak_interval} s)",
            f"{drift:+.1%} (first {first / 1024:.1f} → last {last / 1024:.1f} MiB, "
            f"peak {peak / 1024:.1f})",
            f"{idle_rss / 1024:.1f} MiB before the load",
            "",
            f"within {TARGET_DRIFT:.0%}",
            verdict(abs(drift) <= TARGET_DRIFT and (peak - first) / first <= TARGET_DRIFT),
        )
    )


def run(ctx: Context, rows: list[Row]) -> None:
    idle_streams(ctx, rows)
    soak(ctx, rows)
