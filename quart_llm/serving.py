"""Serve the app with Hypercorn, our way: uvloop, and our own SIGTERM/SIGINT handling.

Hypercorn installs its own signal handlers unless given a shutdown trigger; we give it one so
the app decides how to stop (and, later, drains streams first: Hypercorn's graceful timeout is
not enforced on Python >= 3.12).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from quart_llm.settings import ROOT_PATH

DEFAULT_HYPERCORN_CONFIG = ROOT_PATH / "hypercorn.toml"


def load_hypercorn_config(path: Path | None = None, bind: list[str] | None = None) -> Config:
    config = Config.from_toml(path or DEFAULT_HYPERCORN_CONFIG)
    if bind:
        config.bind = bind
    return config


async def serve_until_signalled(app: Quart, config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await serve(app, config, shutdown_trigger=stop.wait)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run(app: Quart, config: Config) -> None:
    if config.worker_class == "uvloop":
        import uvloop

        uvloop.run(serve_until_signalled(app, config))
    else:
        asyncio.run(serve_until_signalled(app, config))
