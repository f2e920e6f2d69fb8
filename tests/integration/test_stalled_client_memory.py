"""A client that reads nothing costs the gateway a bounded amount of memory, over HTTP/2 (it
grants no flow-control window) as over HTTP/1.1 (it never reads its socket): the gateway stops
reading the upstream, gives the stream up after the provider's `idle` limit, closes the
upstream and logs the stream as `client_too_slow`. Measured from outside, on a real
`python -m quart_llm serve` process (its RSS from /proc), against an upstream that streams as
fast as it is read, far more than the bound."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h2.errors
import h2.events

from tests.conftest import TEST_KEY
from tests.simulators import OpenAICompatSimulator, RecordedRequest, SimulatorConfig
from tests.simulators.scenarios import MIB
from tests.support.gateway_process import GatewayProcess, gateway_processes
from tests.support.raw_h2 import RawH2Client

IDLE_SECONDS = 1.0
FIREHOSE_BYTES = 128 * MIB
RSS_GROWTH_BOUND = 32 * MIB
"""Per stream the gateway holds under 32 KiB in the server, 8 batches in the hand-off and one
upstream read in the transport: a few MiB; the bound leaves room for the allocator."""
TOKEN = " token" * 40
CHAT_PATH = "/v1/chat/completions"
HEADERS = [("authorization", f"Bearer {TEST_KEY}"), ("content-type", "application/json")]


def chat_body(scenario: str) -> bytes:
    messages = [{"role": "user", "content": "hi"}]
    body = {"model": f"sim/sim/{scenario}", "stream": True, "messages": messages}
    return json.dumps(body).encode()


def gateway_settings(upstream: OpenAICompatSimulator) -> dict[str, Any]:
    timeouts = {"connect": 2, "first_byte": 10, "idle": IDLE_SECONDS, "total": 120}
    provider = {"kind": "openai", "base_url": f"{upstream.base_url}/v1", "timeouts": timeouts}
    return {"default_provider": "sim", "providers": {"sim": {**provider, "retry": {"attempts": 0}}}}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@contextmanager
def peak_rss(pid: int) -> Iterator[list[int]]:
    """Samples the process's RSS every 20 ms while the block runs; yields [peak] (updated)."""
    peak = [rss_bytes(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], rss_bytes(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join(5)


def answered_over_h2(port: int) -> bool:
    """One whole streamed answer over HTTP/2 (warms the gateway's code paths up)."""
    client = RawH2Client(port)
    try:
        stream_id = client.request("POST", CHAT_PATH, HEADERS, chat_body("normal"))
        ended = client.wait_for(
            lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id, 10
        )
        return ended is not None
    finally:
        client.close()


def firehose_request(upstream: OpenAICompatSimulator, timeout: float = 10.0) -> RecordedRequest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in upstream.requests if r.scenario == "firehose"]
        if found:
            return found[0]
        time.sleep(0.02)
    raise TimeoutError("the firehose request never reached the upstream")


def logged_outcome(gateway: GatewayProcess, outcome: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f'"quart_llm.outcome":"{outcome}"' in gateway.output():
            return True
        time.sleep(0.1)
    return False


def stalled_stream(
    start_client: Callable[[int], Callable[[], None]],
) -> tuple[int, RecordedRequest, bool]:
    """Start a stalled client on a fresh gateway; returns the gateway's peak RSS growth while
    the stream lived, the upstream request, and whether `client_too_slow` was logged."""
    config = SimulatorConfig(firehose_bytes=FIREHOSE_BYTES, tokens=[TOKEN] * 16)
    with (
        OpenAICompatSimulator(config) as upstream,
        gateway_processes(1, gateway_settings(upstream)) as (gateway,),
    ):
        assert gateway.process is not None
        assert answered_over_h2(gateway.port)
        before = rss_bytes(gateway.process.pid)
        with peak_rss(gateway.process.pid) as peak:
            close_client = start_client(gateway.port)
            try:
                recorded = firehose_request(upstream)
                upstream.wait_for_client_close(recorded, 30)
                time.sleep(0.2)
            finally:
                close_client()
        return peak[0] - before, recorded, logged_outcome(gateway, "client_too_slow")


def test_an_h2_client_that_grants_no_window_is_bounded_then_given_up() -> None:
    resets: list[h2.events.Event | None] = []

    def zero_window_client(port: int) -> Callable[[], None]:
        client = RawH2Client(port, initial_window=0)
        stream_id = client.request("POST", CHAT_PATH, HEADERS, chat_body("firehose"))

        def reset_then_close() -> None:
            found = client.wait_for(
                lambda e: isinstance(e, h2.events.StreamReset) and e.stream_id == stream_id, 5
            )
            resets.append(found)
            client.close()

        return reset_then_close

    growth, upstream, too_slow_logged = stalled_stream(zero_window_client)
    assert growth < RSS_GROWTH_BOUND, f"the gateway grew by {growth / MIB:.0f} MiB"
    assert upstream.streamed_bytes < FIREHOSE_BYTES, "back-pressure stopped the upstream"
    assert too_slow_logged
    [reset] = resets
    assert isinstance(reset, h2.events.StreamReset), "the client learns the stream ended"
    assert reset.error_code == h2.errors.ErrorCodes.INTERNAL_ERROR


def test_an_http11_client_that_reads_nothing_is_bounded_then_given_up() -> None:
    def unread_socket_client(port: int) -> Callable[[], None]:
        body = chat_body("firehose")
        head = f"POST {CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in HEADERS)
        head += f"Content-Length: {len(body)}\r\n\r\n"
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(head.encode() + body)
        return sock.close

    growth, upstream, too_slow_logged = stalled_stream(unread_socket_client)
    assert growth < RSS_GROWTH_BOUND, f"the gateway grew by {growth / MIB:.0f} MiB"
    assert upstream.streamed_bytes < FIREHOSE_BYTES, "back-pressure stopped the upstream"
    assert too_slow_logged
