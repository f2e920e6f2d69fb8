"""5. Memory: RSS growth per open idle stream, and flatness over a soak.

Each part gets a fresh gateway, so memory freed by earlier scenarios cannot hide growth.
Idle streams come from the paced upstream's `/p2x600000` pace: one delta, then ten minutes of
silence; they are held open by the C client until every stream has its first delta, RSS
(`VmRSS` in /proc/<pid>/status) is read, then they are closed. A few streams are opened and
closed first, so one-time start-up allocations do not count as per-stream growth. The same is
measured, each on a fresh process, for the bare passthrough and the stack floor in front of the
same idle pace: what the framework and the required libraries hold per stream on their own.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import bodies, floor_targets
from bench.context import Context, log
from bench.gateway import auth_headers
from bench.nginx import CHAT_PATH
from bench.paced import HeldStreams, PacedLoad, paced_path
from bench.processes import ManagedProcess
from bench.report import Row, verdict
from bench.tools import BenchError
from bench.wrk import LoadRequest, parse_wrk_output, write_script

LABEL = "5 memory"
TARGET_KIB_PER_STREAM = 32.0
TARGET_DRIFT = 0.05
WARMUP_STREAMS = 50
IDLE_DELTAS = 2
IDLE_INTERVAL_MS = 600_000
SOAK_PAUSE_MS = 20


@dataclass(frozen=True, slots=True)
class _Subject:
    """A process whose memory per idle stream is measured, and how to open a stream on it."""

    name: str
    port: int
    path: str
    model: str
    rss_kib: Callable[[], int]


def _held(ctx: Context, subject: _Subject, streams: int) -> HeldStreams:
    load = PacedLoad(
        port=subject.port,
        path=subject.path,
        model=subject.model,
        key=bodies.API_KEY,
        streams=streams,
        repeats=1,
        deltas=IDLE_DELTAS,
        interval_ms=IDLE_INTERVAL_MS,
        ramp_ms=max(100, streams // 2),
    )
    return HeldStreams(ctx.binaries()["paced_client"], load, hold_ms=120_000)


def _settled_rss(subject: _Subject, seconds: float) -> int:
    time.sleep(seconds)
    samples = []
    for _ in range(5):
        samples.append(subject.rss_kib())
        time.sleep(0.1)
    return int(statistics.median(samples))


def _settle(ctx: Context) -> float:
    return 0.2 if ctx.options.smoke else 1.0


def _hold(ctx: Context, subject: _Subject, streams: int) -> int:
    """Open `streams` idle streams, return the RSS while they are open, then close them."""
    held = _held(ctx, subject, streams)
    held.open(timeout=60 + streams / 100)
    try:
        rss = _settled_rss(subject, _settle(ctx))
    finally:
        result = held.close()
    if result is None or result.failed or result.ok != streams:
        detail = result.describe_errors() if result else "no result"
        raise BenchError(f"memory: could not hold {streams} {subject.name} streams open: {detail}")
    return rss


def _growth(ctx: Context, subject: _Subject, streams: int) -> tuple[float, int, int]:
    """(KiB per open idle stream, RSS before, RSS with them open), after a warm-up hold."""
    _hold(ctx, subject, WARMUP_STREAMS)
    before = _settled_rss(subject, _settle(ctx))
    log(f"memory: {streams} idle streams on {subject.name} (RSS before {before / 1024:.1f} MiB)")
    during = _hold(ctx, subject, streams)
    return (during - before) / streams, before, during


def _baseline_growth(ctx: Context, streams: int) -> list[str]:
    """The same measure, each on a fresh process, for the bare passthrough with the fastest
    client and for the stack floor, both in front of the paced upstream's idle pace."""
    upstream = ctx.paced_base_url()
    idle_path = paced_path(IDLE_DELTAS, IDLE_INTERVAL_MS) + CHAT_PATH
    client = ctx.available_clients()[-1]
    baselines: list[tuple[str, Callable[[], tuple[ManagedProcess, int]], str]] = [
        (
            f"passthrough-{client}",
            lambda: ctx.start_passthrough(client, upstream, f"memory-passthrough-{client}"),
            idle_path,
        )
    ]
    if ctx.floor_available():
        baselines.append(
            (
                "stack floor",
                lambda: ctx.start_floor(upstream, "memory-floor", stream_path=idle_path),
                "/v1/chat/completions",
            )
        )
    described = []
    for name, start, path in baselines:
        process, port = start()
        try:
            subject = _Subject(name, port, path, "paced", process.rss_kib)
            per_stream, _, _ = _growth(ctx, subject, streams)
        finally:
            process.stop()
        described.append(f"{name} {per_stream:.1f} KiB")
        if name == "stack floor":
            ctx.record(floor_targets.IDLE_MEMORY, "floor", per_stream)
    return described


def idle_streams(ctx: Context, rows: list[Row]) -> None:
    streams = ctx.options.idle_streams
    gateway = ctx.new_gateway("gateway-memory", idle=True)
    gateway.start()
    subject = _Subject(
        "gateway", gateway.port, "/v1/chat/completions", "idle/idle", gateway.rss_kib
    )
    try:
        per_stream, before, during = _growth(ctx, subject, streams)
    finally:
        gateway.stop()
    ctx.record(floor_targets.IDLE_MEMORY, "gateway", per_stream)
    baselines = _baseline_growth(ctx, streams)
    rows.append(
        Row(
            LABEL,
            f"RSS growth per open idle stream, {streams:,} open",
            f"{per_stream:.1f} KiB",
            f"{'; '.join(baselines)}; gateway RSS {before / 1024:.1f} MiB before, "
            f"{during / 1024:.1f} MiB with {streams:,} open",
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
