"""A real Hypercorn server on 127.0.0.1 running the gateway in a background thread.

The thread has its own event loop, so tests drive the server with real HTTP/1.1 and HTTP/2
clients from theirs; the app's lifespan runs exactly as under `python -m quart_llm serve`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from quart_llm import create_app
from tests.support.ports import free_port


class LiveServer:
    def __init__(
        self, app: Quart, *, certfile: str | None = None, keyfile: str | None = None
    ) -> None:
        self.app = app
        self.port = free_port()
        self.tls = certfile is not None
        self._config = Config()
        self._config.bind = [f"127.0.0.1:{self.port}"]
        self._config.accesslog = None
        self._config.errorlog = None
        self._config.keep_alive_timeout = 75
        self._config.graceful_timeout = 1
        if certfile is not None:
            self._config.certfile = certfile
            self._config.keyfile = keyfile
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            ready.set()
            try:
                loop.run_until_complete(
                    serve(self.app, self._config, shutdown_trigger=self._stop.wait)
                )
            except BaseException as exc:
                self._failure = exc
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"live-server-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(5)
        self._wait_until_serving()

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._failure is not None:
                raise RuntimeError("the live server failed to start") from self._failure
            try:
                httpx.get(f"{self.base_url}/v1/health", verify=False, timeout=1)  # noqa: S501
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise TimeoutError("the live server did not start within 10 s")

    def task_count(self) -> int:
        """Tasks alive on the server's loop (the server's own included)."""
        if self._loop is None:
            raise RuntimeError("the live server is not running")

        async def count() -> int:
            return len(asyncio.all_tasks())

        return asyncio.run_coroutine_threadsafe(count(), self._loop).result(5)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(15)


@contextmanager
def running_gateway(overrides: dict[str, Any] | None = None, **tls: str) -> Iterator[LiveServer]:
    server = LiveServer(create_app(overrides), **tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
