"""9. Tracing: the gateway with OpenTelemetry on, every span exported over OTLP/HTTP to a
local sink (bench/otlp_sink.py), against the gateway as shipped (tracing off), side by side in
the same rounds: whole answers and streams at the throughput scenario's concurrency.

A diagnostic: what turning tracing on costs. The sink's span count is checked against the
requests the traced gateway answered (two spans each: the request's and its upstream
attempt's), so a run whose spans were dropped is reported, not passed off as cheap.
"""

from __future__ import annotations

import time

import orjson

from bench import bodies
from bench.context import Context, Target, log
from bench.gateway import Gateway, auth_headers
from bench.http import request
from bench.report import Row, rate, ratio, times
from bench.scenarios.common import compare
from bench.tools import BenchError
from bench.wrk import LoadRequest

LABEL = "9 tracing"
SPANS_PER_REQUEST = 2
"""The server span and one upstream attempt (no retries against nginx)."""
SETTLE_QUIET = 6.0
SETTLE_LIMIT = 30.0


def run(ctx: Context, rows: list[Row]) -> None:
    sink = ctx.start_otlp_sink()
    traced = ctx.new_gateway(
        "gateway-traced",
        extra_env={
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{sink}/v1/traces",
            "OTEL_SERVICE_NAME": "quart-llm-bench",
        },
    )
    log("starting the traced gateway")
    traced.start()
    plain = ctx.gateway()
    connections = ctx.options.connections
    requests_before = _spans(sink)  # the health checks' spans
    answered = 0
    for stream in (False, True):
        targets = [_target("gateway", plain, stream), _target("gateway-traced", traced, stream)]
        results = compare(ctx, f"tracing-{'stream' if stream else 'whole'}", targets, connections)
        off, on = results["gateway"], results["gateway-traced"]
        answered += on.requests
        kind = "streamed answers" if stream else "whole answers"
        rows.append(
            Row(
                LABEL,
                f"{kind}/s at c={connections}, tracing on (OTLP export) vs off "
                f"(p50 {on.p50_ms:.2f} vs {off.p50_ms:.2f} ms)",
                rate(on.rps),
                f"tracing off {rate(off.rps)}",
                times(ratio(on.rps, off.rps)),
            )
        )
    exported = _settled_spans(sink) - requests_before
    expected = answered * SPANS_PER_REQUEST
    rows.append(
        Row(
            LABEL,
            "spans the sink received, of those the traced gateway's measured requests made",
            f"{exported:,}",
            f"expected at least {expected:,}",
        )
    )
    if exported < expected * 0.99:
        ctx.note(
            f"The traced gateway exported {exported:,} spans for {answered:,} requests: spans "
            "were dropped (the SDK's queue was full), so tracing cost less than it should have."
        )


def _target(name: str, gateway: Gateway, stream: bool) -> Target:
    provider = "sse" if stream else "whole"
    body = bodies.chat_request(f"{provider}/{bodies.MODEL}", stream=stream)
    return Target(name, gateway.port, LoadRequest("/v1/chat/completions", body, auth_headers()))


def _settled_spans(port: int) -> int:
    """The sink's count once it has stopped growing for longer than the SDK's export delay
    (5 s), so spans still queued in the gateway are counted; at most `SETTLE_LIMIT` s."""
    deadline = time.monotonic() + SETTLE_LIMIT
    count, unchanged_since = _spans(port), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - unchanged_since < SETTLE_QUIET:
        time.sleep(0.5)
        latest = _spans(port)
        if latest != count:
            count, unchanged_since = latest, time.monotonic()
    return count


def _spans(port: int) -> int:
    """Spans the sink has received so far (it counts warm-up requests too)."""
    answer = request(port, "GET", "/spans")
    if answer.status != 200:
        raise BenchError(f"tracing: the OTLP sink answered {answer.status}")
    count = orjson.loads(answer.body)["spans"]
    return int(count)
