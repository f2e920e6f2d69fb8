"""The bare passthrough baseline: a minimal Quart app, one POST route, no validation.

`python -m bench.passthrough --bind 127.0.0.1:PORT --upstream http://127.0.0.1:NGINX
--client httpx|httpx-aiohttp|aiohttp` serves it with the gateway's hypercorn.toml (one worker,
uvloop). `POST /<path>` forwards the body to `<upstream>/<path>` and answers with the
upstream's body: read whole for JSON, relayed chunk by chunk for `text/event-stream`. The
client pool is sized like the gateway's (keep-alive for every connection), so the baseline
measures the transport, not a too-small default pool.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request

from bench.clients import CLIENTS
from bench.paths import ROOT

POOL_SIZE = 4096
Forward = Callable[[str, bytes], Awaitable[Response]]


def _is_stream(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "text/event-stream"


class HttpxForwarder:
    """httpx.AsyncClient over its default transport (httpcore, HTTP/1.1), or over
    httpx-aiohttp's AiohttpTransport when `over_aiohttp` (the gateway could keep httpx's API)."""

    def __init__(self, upstream: str, *, over_aiohttp: bool = False) -> None:
        limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
        transport: httpx.AsyncBaseTransport | None = None
        if over_aiohttp:
            module: Any = importlib.import_module("httpx_aiohttp")
            transport = module.AiohttpTransport(limits=limits, trust_env=False)
        self.client = httpx.AsyncClient(
            base_url=upstream,
            trust_env=False,
            timeout=httpx.Timeout(60.0),
            limits=limits,
            transport=transport,
        )

    async def forward(self, path: str, body: bytes) -> Response:
        upstream = self.client.build_request(
            "POST", path, content=body, headers={"Content-Type": "application/json"}
        )
        answer = await self.client.send(upstream, stream=True)
        content_type = answer.headers.get("content-type", "application/octet-stream")
        if not _is_stream(content_type):
            try:
                data = await answer.aread()
            finally:
                await answer.aclose()
            return Response(data, status=answer.status_code, content_type=content_type)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for piece in answer.aiter_raw():
                    yield piece
            finally:
                await answer.aclose()

        response = Response(relay(), status=answer.status_code, content_type=content_type)
        response.timeout = None
        return response

    async def aclose(self) -> None:
        await self.client.aclose()


class AiohttpForwarder:
    """An aiohttp.ClientSession used directly (only when aiohttp is installed)."""

    def __init__(self, upstream: str) -> None:
        self.aiohttp: Any = importlib.import_module("aiohttp")
        self.upstream = upstream.rstrip("/")
        self.session: Any = None

    async def _session(self) -> Any:
        if self.session is None:
            connector = self.aiohttp.TCPConnector(limit=POOL_SIZE, force_close=False)
            self.session = self.aiohttp.ClientSession(connector=connector, trust_env=False)
        return self.session

    async def forward(self, path: str, body: bytes) -> Response:
        session = await self._session()
        answer = await session.post(
            self.upstream + path, data=body, headers={"Content-Type": "application/json"}
        )
        content_type = answer.headers.get("Content-Type", "application/octet-stream")
        if not _is_stream(content_type):
            try:
                data: bytes = await answer.read()
            finally:
                answer.release()
            return Response(data, status=answer.status, content_type=content_type)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for piece in answer.content.iter_any():
                    yield piece
            finally:
                answer.release()

        response = Response(relay(), status=answer.status, content_type=content_type)
        response.timeout = None
        return response

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


def create_passthrough_app(upstream: str, client: str) -> Quart:
    app = Quart("bench_passthrough", static_folder=None)
    forwarder: HttpxForwarder | AiohttpForwarder
    if client == "aiohttp":
        forwarder = AiohttpForwarder(upstream)
    else:
        forwarder = HttpxForwarder(upstream, over_aiohttp=client == "httpx-aiohttp")

    @app.post("/<path:path>")
    async def forward(path: str) -> Response:
        return await forwarder.forward("/" + path, await request.get_data(False, False, False))

    add_health_and_cleanup(app, forwarder)
    return app


def add_health_and_cleanup(app: Quart, forwarder: HttpxForwarder | AiohttpForwarder) -> None:
    """`GET /health`, which the bench waits on, and the client closed when serving stops."""

    @app.get("/health")
    async def health() -> Response:
        return Response("ok")

    @app.after_serving
    async def close_client() -> None:
        await forwarder.aclose()


async def _serve(app: Quart, config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(app, config, shutdown_trigger=stop.wait)


def serve_app(app: Quart, bind: str) -> None:
    """Serve `app` as the gateway is served: its shipped hypercorn.toml (one worker, uvloop, no
    Hypercorn access log) on `bind`, until SIGTERM or SIGINT."""
    config = Config.from_toml(ROOT / "quart_llm" / "config" / "defaults" / "hypercorn.toml")
    config.bind = [bind]
    config.accesslog = None
    config.graceful_timeout = 1
    if config.worker_class == "uvloop":
        import uvloop

        uvloop.run(_serve(app, config))
    else:
        asyncio.run(_serve(app, config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.passthrough", description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--client", choices=CLIENTS, default="httpx")
    args = parser.parse_args(argv)
    serve_app(create_passthrough_app(args.upstream, args.client), args.bind)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
