"""An OTLP/HTTP traces endpoint that keeps nothing but a count: what the traced gateway of the
tracing scenario exports to, so the measured cost includes encoding and sending every span.

`python -m bench.otlp_sink --bind 127.0.0.1:PORT` answers `POST /v1/traces` (protobuf) with an
empty `ExportTraceServiceResponse`, and `GET /spans` with the number of spans received.
"""

from __future__ import annotations

import argparse

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

EMPTY_ANSWER = ExportTraceServiceResponse().SerializeToString()


def create_sink() -> web.Application:
    spans = [0]

    async def receive(request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        spans[0] += sum(
            len(scope.spans) for resource in export.resource_spans for scope in resource.scope_spans
        )
        return web.Response(body=EMPTY_ANSWER, content_type="application/x-protobuf")

    async def count(_: web.Request) -> web.Response:
        return web.json_response({"spans": spans[0]})

    app = web.Application()
    app.router.add_post("/v1/traces", receive)
    app.router.add_get("/spans", count)
    app.router.add_get("/health", lambda _: count(_))
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.otlp_sink", description=__doc__)
    parser.add_argument("--bind", required=True)
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    web.run_app(create_sink(), host=host, port=int(port), print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
