"""HTTP/2 rapid reset (CVE-2023-44487) against a real Hypercorn server running the gateway: a
client that opens and cancels streams in a loop, without a key, gets GOAWAY
(ENHANCE_YOUR_CALM) once past its reset budget, the app sees few of its requests, and a probe
on another connection is answered meanwhile."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import h2.errors
import h2.events
import h2.exceptions
import httpx
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from quart_llm import create_app
from tests.support.live_server import LiveServer
from tests.support.raw_h2 import RawH2Client

ITERATIONS = 600
BURST = 20
BODY = b'{"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}'
HEADERS = [("content-type", "application/json")]
CHAT_PATH = "/v1/chat/completions"


class CountingApp:
    """The gateway's ASGI app, counting the HTTP requests that reach it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@dataclass
class Flood:
    """What a rapid-reset client saw: the GOAWAY error code of each connection (None: ended
    without one) and how many streams it opened and cancelled on each."""

    goaways: list[int | None] = field(default_factory=list)
    streams: list[int] = field(default_factory=list)


def flood(port: int, iterations: int) -> Flood:
    """HEADERS + DATA + RST_STREAM, `iterations` times in all, reconnecting after a GOAWAY."""
    seen = Flood()
    while sum(seen.streams) < iterations:
        goaway, opened = flood_one_connection(port, iterations - sum(seen.streams))
        seen.goaways.append(goaway)
        seen.streams.append(opened)
    return seen


def flood_one_connection(port: int, iterations: int) -> tuple[int | None, int]:
    """Open and cancel streams until `iterations` or the connection's end; returns the
    GOAWAY's error code (None without one) and the streams opened."""
    client = RawH2Client(port)
    opened, goaway = 0, None
    try:
        while goaway is None and opened < iterations:
            try:
                stream_id = client.request("POST", CHAT_PATH, HEADERS, BODY, send=False)
                client.reset(stream_id)
            except (OSError, h2.exceptions.ProtocolError):
                break  # The server has closed the connection; its GOAWAY may be unread.
            opened += 1
            goaway = goaway_code(client.read_events(0))
        if goaway is None:
            ended = client.wait_for(lambda e: isinstance(e, h2.events.ConnectionTerminated), 1)
            goaway = getattr(ended, "error_code", None)
    finally:
        client.close()
    return goaway, opened


def goaway_code(events: list[h2.events.Event]) -> int | None:
    for event in events:
        if isinstance(event, h2.events.ConnectionTerminated):
            return event.error_code
    return None


def probe_until(stop: threading.Event, base_url: str, statuses: list[int]) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while not stop.wait(0.05):
            statuses.append(client.get("/v1/health").status_code)


def test_a_rapid_reset_client_gets_goaway_and_the_app_sees_few_of_its_requests() -> None:
    app = create_app({"http2": {"reset_burst": BURST, "resets_per_second": 10.0}})
    counting = CountingApp(app.asgi_app)
    app.asgi_app = counting  # type: ignore[method-assign]
    server = LiveServer(app)
    server.start()
    stop, statuses = threading.Event(), list[int]()
    prober = threading.Thread(target=probe_until, args=(stop, server.base_url, statuses))
    try:
        before = counting.requests
        prober.start()
        seen = flood(server.port, ITERATIONS)
    finally:
        stop.set()
        prober.join(15)
        server.stop()
    reached = counting.requests - before - len(statuses)
    calm = h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert seen.goaways.count(calm) >= 2, f"GOAWAYs: {seen.goaways}"
    assert set(seen.goaways) <= {calm, None}, f"GOAWAYs: {seen.goaways}"
    assert reached <= len(seen.goaways) * (BURST + 1), f"{reached} requests reached the app"
    assert statuses and set(statuses) == {200}, "the probe's connection was served throughout"
