"""HTTP/2 rapid reset (CVE-2023-44487) against a real Hypercorn server running the gateway: a
client that opens and cancels streams in a loop (at once without a key, or once the app has
begun to answer them) gets GOAWAY (ENHANCE_YOUR_CALM) past its reset budget, the app sees a
bounded number of its requests, and a probe on another connection is answered meanwhile."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import h2.errors
import h2.events
import h2.exceptions
import httpx
import pytest
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope

from quart_llm import create_app
from tests.conftest import TEST_KEY
from tests.support.live_server import LiveServer
from tests.support.raw_h2 import RawH2Client

BURST = 20
CHAT_PATH = "/v1/chat/completions"
JSON = ("content-type", "application/json")
MESSAGES = '"messages": [{"role": "user", "content": "hi"}]'


@dataclass(frozen=True)
class Pattern:
    """How a flood opens and cancels its streams: `batch` requests in one write, their resets
    in the same write (`hold` 0) or in a later one, `hold` seconds later."""

    iterations: int
    batch: int
    hold: float
    headers: tuple[tuple[str, str], ...]
    body: bytes


TOGETHER = Pattern(600, 1, 0.0, (JSON,), b'{"model": "mock-1", ' + MESSAGES.encode() + b"}")
"""The classic attack: HEADERS + DATA + RST_STREAM at once, without a key."""
ANSWERED = Pattern(
    150,
    5,
    0.02,
    (JSON, ("authorization", f"Bearer {TEST_KEY}")),
    b'{"model": "mock-1", "stream": true, ' + MESSAGES.encode() + b"}",
)
"""Streams the app has begun to answer (a slow mock), cancelled a moment later."""


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


def flood(port: int, pattern: Pattern) -> Flood:
    """Open and cancel `pattern.iterations` streams in all, reconnecting after a GOAWAY."""
    seen = Flood()
    while sum(seen.streams) < pattern.iterations:
        goaway, opened = flood_one_connection(port, pattern, sum(seen.streams))
        seen.goaways.append(goaway)
        seen.streams.append(opened)
    return seen


def flood_one_connection(port: int, pattern: Pattern, done: int) -> tuple[int | None, int]:
    """Open and cancel streams until the pattern's count or the connection's end; returns the
    GOAWAY's error code (None without one) and the streams opened."""
    client = RawH2Client(port)
    opened, goaway = 0, None
    try:
        while goaway is None and done + opened < pattern.iterations:
            try:
                streams = [
                    client.request("POST", CHAT_PATH, pattern.headers, pattern.body, send=False)
                    for _ in range(pattern.batch)
                ]
                if pattern.hold:
                    client.flush()
                    time.sleep(pattern.hold)
                for stream_id in streams:
                    client.reset(stream_id, send=False)
                client.flush()
            except (OSError, h2.exceptions.ProtocolError):
                break  # The server has closed the connection; its GOAWAY may be unread.
            opened += pattern.batch
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


def probe_until(
    stop: threading.Event, started: threading.Event, base_url: str, statuses: list[int]
) -> None:
    """`GET /v1/health` on its own connection, again and again until `stop`."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        while True:
            statuses.append(client.get("/v1/health").status_code)
            started.set()
            if stop.wait(0.01):
                return


@pytest.mark.parametrize("pattern", [TOGETHER, ANSWERED], ids=["together", "answered"])
def test_a_rapid_reset_client_gets_goaway_and_the_app_sees_few_of_its_requests(
    pattern: Pattern,
) -> None:
    app = create_app(
        {
            "http2": {"reset_burst": BURST, "resets_per_second": 10.0},
            "limits": {"enabled": False},
            "providers": {"mock": {"options": {"tokens_per_second": 2}}},
        }
    )
    counting = CountingApp(app.asgi_app)
    app.asgi_app = counting  # type: ignore[method-assign]
    server = LiveServer(app)
    server.start()
    stop, started, statuses = threading.Event(), threading.Event(), list[int]()
    prober = threading.Thread(target=probe_until, args=(stop, started, server.base_url, statuses))
    try:
        before = counting.requests
        prober.start()
        started.wait(10)
        seen = flood(server.port, pattern)
        stop.set()
        prober.join(15)
        after = httpx.get(f"{server.base_url}/v1/health", timeout=10).status_code
    finally:
        stop.set()
        server.stop()
    reached = counting.requests - before - len(statuses) - 1
    calm = h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    assert calm in seen.goaways, f"GOAWAYs: {seen.goaways}"
    assert set(seen.goaways) <= {calm, None}, f"GOAWAYs: {seen.goaways}"
    most = len(seen.goaways) * (BURST + pattern.batch)
    assert reached <= most, f"{reached} of {sum(seen.streams)} requests reached the app"
    assert set(statuses) == {200}, "the probe's connection was served throughout"
    assert after == 200
