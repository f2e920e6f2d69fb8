"""6. HTTP/2: 100 concurrent streamed chat requests multiplexed on one h2c connection."""

from __future__ import annotations

from pathlib import Path

from bench import bodies
from bench.context import Context, log
from bench.gateway import auth_headers
from bench.h2load import H2Result, run_h2load
from bench.nginx import CHAT_PATH, STREAM_PREFIX
from bench.report import Row, verdict
from bench.tools import BenchError

LABEL = "6 HTTP/2"


def _describe(result: H2Result) -> str:
    return (
        f"{result.succeeded}/{result.total} succeeded, {result.status_2xx} 2xx, "
        f"{result.failed} failed, {result.errored} errored, {result.timeout} timeout; "
        f"{result.rps:,.0f} req/s ({result.protocol})"
    )


def run(ctx: Context, rows: list[Row]) -> None:
    options = ctx.options
    gateway_body = ctx.work_dir / "h2-gateway.json"
    gateway_body.write_bytes(bodies.chat_request(f"sse/{bodies.MODEL}", stream=True))
    plain_body = ctx.work_dir / "h2-plain.json"
    plain_body.write_bytes(bodies.chat_request(bodies.MODEL, stream=True))
    passthroughs = ctx.passthroughs()
    gateway = ctx.gateway()

    def h2(url: str, body_file: Path, headers: dict[str, str]) -> H2Result:
        return run_h2load(
            ctx.tools.h2load,
            url,
            body_file,
            headers,
            requests=options.h2_requests,
            streams=options.h2_streams,
        )

    log(f"http2: {options.h2_requests} requests, {options.h2_streams} streams on one connection")
    through = h2(f"{gateway.base_url}/v1/chat/completions", gateway_body, auth_headers())
    baselines = []
    for client, port in passthroughs.items():
        bare = h2(
            f"http://127.0.0.1:{port}{STREAM_PREFIX}{CHAT_PATH}",
            plain_body,
            {"Content-Type": "application/json"},
        )
        baselines.append(f"{client} {bare.rps:,.0f} req/s ({bare.succeeded}/{bare.total} ok)")
        if not bare.all_ok:
            raise BenchError(f"http2: the passthrough failed: {_describe(bare)}")
    rows.append(
        Row(
            LABEL,
            f"{options.h2_streams} concurrent streams on one h2c connection, "
            f"{options.h2_requests} streamed answers",
            _describe(through),
            "passthrough " + "; ".join(baselines),
            "",
            "all complete",
            verdict(through.all_ok),
        )
    )
    if not through.all_ok:
        raise BenchError(f"http2: not every stream completed: {_describe(through)}")
