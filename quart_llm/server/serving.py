"""Serve the app with Hypercorn, our way: uvloop, and our own SIGTERM/SIGINT handling.

Hypercorn installs its own signal handlers unless given a shutdown trigger; we give it one.
On the first signal the gateway drains (see `draining`): Hypercorn is told to stop accepting
at once, answers in flight get `shutdown_grace_seconds`, then the rest are ended. If a
connection still holds the server open well after that (a client that stopped reading), the
server task is cancelled so the process always exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import tomllib
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from quart_llm.config.loader import ConfigurationError
from quart_llm.config.paths import DEFAULT_HYPERCORN_FILE, HYPERCORN_FILE
from quart_llm.services.container import Services
from quart_llm.web.context import SERVICES_KEY

HARD_STOP_MARGIN_SECONDS = 10.0
logger = logging.getLogger("quart_llm.serving")


def load_hypercorn_config(path: Path | None = None, bind: list[str] | None = None) -> Config:
    """Hypercorn's settings: the package's `config/defaults/hypercorn.toml`, refined key by
    key by `path` (which must exist) or else by a `hypercorn.toml` in the working directory,
    then by `bind`; never Hypercorn's access log: the gateway writes one access line per
    request itself (`quart_llm.access`)."""
    values = _read_hypercorn_file(DEFAULT_HYPERCORN_FILE)
    if path is not None or HYPERCORN_FILE.is_file():
        values |= _read_hypercorn_file(path or HYPERCORN_FILE)
    config = Config.from_mapping(values)
    if bind:
        config.bind = bind
    config.accesslog = None
    return config


def _read_hypercorn_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        raise ConfigurationError(f"hypercorn config {path}: {reason}") from None


async def _serve_until_signalled(app: Quart, config: Config) -> None:
    services = app.extensions[SERVICES_KEY]
    if not isinstance(services, Services):
        raise RuntimeError("not a quart_llm app")
    loop = asyncio.get_running_loop()
    stop_accepting = asyncio.Event()
    server = loop.create_task(serve(app, config, shutdown_trigger=stop_accepting.wait))
    drain: asyncio.Task[None] | None = None

    async def drain_then_stop() -> None:
        stop_accepting.set()
        grace = services.settings.shutdown_grace_seconds
        await services.drainer.drain(grace)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(server), HARD_STOP_MARGIN_SECONDS)
            return
        logger.error(
            "connections still open %g s after draining: stopping anyway", HARD_STOP_MARGIN_SECONDS
        )
        server.cancel()

    def on_signal() -> None:
        nonlocal drain
        if drain is None:
            drain = loop.create_task(drain_then_stop())

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await server
        if drain is not None and not drain.done():
            drain.cancel()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def raise_open_file_limit() -> int:
    """Raise this process's limit on open files to the hard limit, and return it: every
    stream holds two sockets (client and upstream), and a default soft limit of 1,024 would
    cap a gateway built to carry thousands of streams at about 500."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


def run(app: Quart, config: Config) -> None:
    """Serve until a signal has drained the app (uvloop when configured)."""
    raise_open_file_limit()
    if config.worker_class == "uvloop":
        import uvloop

        uvloop.run(_serve_until_signalled(app, config))
    else:
        asyncio.run(_serve_until_signalled(app, config))
