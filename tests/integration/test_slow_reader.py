"""A client that stops reading does not make the gateway buffer without bound: back-pressure
reaches the upstream socket, and a reader that takes nothing for `timeouts.idle` seconds is
given up on, which closes the upstream request."""

from __future__ import annotations

import asyncio
import json
import socket
import time

from tests.conftest import TEST_KEY
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.live_server import running_gateway

TOKEN = "x" * 200
TOKENS = 60_000  # some 20 MB of events: far more than the kernel's socket buffers can hold
DRAIN_SECONDS = 20


def _drain(sock: socket.socket) -> int:
    """What is left on the way once the gateway gave up, read until the connection ends, a
    2-second silence, or `DRAIN_SECONDS` in all.

    The receive buffer grows first: a window of a few KB that sat at zero can leave the kernel
    sending in persist-timer steps, a trickle that once took minutes to empty under a loaded
    CI machine. What the client can get is the point, so a drain cut short by the deadline still
    counts what it got."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    deadline = time.monotonic() + DRAIN_SECONDS
    received = 0
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(min(2.0, left))
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += len(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return received


async def test_a_stalled_reader_is_bounded_and_then_given_up_on() -> None:
    config = SimulatorConfig(token_interval=0.0, tokens=[TOKEN] * TOKENS)
    with OpenAICompatSimulator(config) as upstream:
        overrides = {
            "providers": {
                "slow": {
                    "kind": "openai",
                    "base_url": f"{upstream.base_url}/v1",
                    "timeouts": {"connect": 1, "first_byte": 5, "idle": 1.5, "total": 60},
                    "retry": {"attempts": 0},
                },
            },
        }
        with running_gateway(overrides) as gateway:
            body = json.dumps(
                {
                    "model": "slow/sim/paced",
                    "stream": True,
                    "messages": [{"role": "user", "content": "hi"}],
                }
            ).encode()
            head = (
                f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {TEST_KEY}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", gateway.port))
            sock.sendall(head + body)
            first = sock.recv(1024)
            received = len(first)
            assert first.startswith(b"HTTP/1.1 200")
            recorded = next(r for r in upstream.requests if r.method == "POST")
            closed_at = await asyncio.to_thread(upstream.wait_for_client_close, recorded, 10)
            received += _drain(sock)
            sock.close()
    chat = next(r for r in upstream.requests if r.method == "POST")
    assert chat.client_closed_at == closed_at
    assert chat.finished_at is None or chat.finished_at >= closed_at, (
        "the upstream could not push its whole answer: back-pressure reached it"
    )
    assert received < TOKENS * len(TOKEN) // 2, (
        f"the client got only what the buffers on the way held ({received} bytes)"
    )
