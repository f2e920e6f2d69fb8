"""The stack floor: the bare aiohttp passthrough plus what the brief asks of every request, each
done the plainest way its prescribed library offers, and nothing a gateway adds beyond that.

`python -m bench.floor --bind 127.0.0.1:PORT --upstream http://127.0.0.1:NGINX` serves
`POST /v1/chat/completions` with the gateway's hypercorn.toml and, per request:

- a Bearer key check (SHA-256 digest, constant-time comparison; 401 otherwise);
- quart-schema validation of the body against a minimal chat model (model, messages, stream);
- quart-rate-limiter with its own memory store, keyed on the caller's key;
- a Prometheus counter and latency histogram (route and status labels);
- one JSON log line at INFO on stderr, and an X-Request-ID response header.

The body is then forwarded unchanged with aiohttp to nginx's whole or streamed answer (by the
body's `stream`; `--whole-path` and `--stream-path` choose other upstream paths, such as the
paced upstream's idle streams), and the answer relayed as it comes: no routing, no parsing of
the upstream, no token quotas, no retries. So the floor is what the prescribed stack costs
before any gateway logic: the best a gateway on it could do.

The benchmark reports the gateway against it beside the targets (a diagnostic, not a target):
the bare passthrough shows what the targets ask, the floor how much of that the required
libraries leave.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import sys
import time
import uuid
from datetime import timedelta

import prometheus_client as prometheus
from pydantic import BaseModel
from quart import Quart, Response, g, request
from quart_rate_limiter import RateLimiter, rate_limit
from quart_schema import QuartSchema, validate_request

from bench import bodies
from bench.nginx import CHAT_PATH, STREAM_PREFIX, WHOLE_PREFIX
from bench.passthrough import AiohttpForwarder, add_health_and_cleanup, serve_app

ROUTE = "/v1/chat/completions"
UNREACHABLE_LIMIT = 1_000_000_000


class FloorMessage(BaseModel):
    role: str
    content: str


class FloorChatRequest(BaseModel):
    model: str
    messages: list[FloorMessage]
    stream: bool = False


def create_floor_app(
    upstream: str,
    *,
    whole_path: str = WHOLE_PREFIX + CHAT_PATH,
    stream_path: str = STREAM_PREFIX + CHAT_PATH,
    api_key: str = bodies.API_KEY,
    limit: int = UNREACHABLE_LIMIT,
) -> Quart:
    app = Quart("bench_floor", static_folder=None)
    QuartSchema(app)
    forwarder = AiohttpForwarder(upstream)
    key_digest = hashlib.sha256(api_key.encode()).digest()
    registry = prometheus.CollectorRegistry()
    requests = prometheus.Counter(
        "floor_requests", "Requests", ["route", "status"], registry=registry
    )
    seconds = prometheus.Histogram("floor_seconds", "Time taken", ["route"], registry=registry)
    logger = logging.getLogger("bench_floor.access")
    logger.addHandler(logging.StreamHandler(sys.stderr))
    logger.setLevel(logging.INFO)
    logger.propagate = False

    @app.before_request
    async def authenticate() -> Response | None:
        g.started = time.perf_counter()
        g.request_id = uuid.uuid4().hex
        if request.endpoint == "health":
            return None
        header = request.headers.get("Authorization", "")
        offered = hashlib.sha256(header.removeprefix("Bearer ").encode()).digest()
        if not (header.startswith("Bearer ") and hmac.compare_digest(offered, key_digest)):
            return Response(
                '{"error":{"code":"invalid_api_key"}}', 401, mimetype="application/json"
            )
        g.key_id = "bench"
        return None

    async def caller_key() -> str:
        # The limiter's after-request hook asks too, also for callers refused a moment ago.
        return str(g.get("key_id", "anonymous"))

    # After `authenticate`, so the limiter's own before-request hook finds the caller's key.
    RateLimiter(app, key_function=caller_key)

    @app.after_request
    async def account(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.request_id
        took = time.perf_counter() - g.started
        requests.labels(ROUTE, str(response.status_code)).inc()
        seconds.labels(ROUTE).observe(took)
        record = {"request_id": g.request_id, "status": response.status_code, "ms": took * 1000}
        logger.info(json.dumps(record))
        return response

    @app.post(ROUTE)
    @rate_limit(limit, timedelta(seconds=60))
    @validate_request(FloorChatRequest)
    async def chat(data: FloorChatRequest) -> Response:
        path = stream_path if data.stream else whole_path
        return await forwarder.forward(path, await request.get_data(True, False, False))

    add_health_and_cleanup(app, forwarder)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--whole-path", default=WHOLE_PREFIX + CHAT_PATH)
    parser.add_argument("--stream-path", default=STREAM_PREFIX + CHAT_PATH)
    args = parser.parse_args(argv)
    app = create_floor_app(args.upstream, whole_path=args.whole_path, stream_path=args.stream_path)
    serve_app(app, args.bind)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
