"""Served through Hypercorn's own command line, SIGTERM refuses new connections at once and
lets an answer in flight finish (with worker processes, new connections used to hang)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from quart_llm.config.paths import DEFAULT_HYPERCORN_FILE, ROOT_PATH
from tests.conftest import AUTH
from tests.support.ports import free_port

HYPERCORN = Path(sys.executable).parent / "hypercorn"


async def wait_ready(base_url: str) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    await client.get(f"{base_url}/v1/health/live")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)


async def test_sigterm_refuses_new_connections_and_lets_a_stream_finish() -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")},
        "QUART_LLM_ENV": "testing",
        "QUART_LLM_PROVIDERS__MOCK__OPTIONS__TOKENS_PER_SECOND": "10",
    }
    command = [
        str(HYPERCORN),
        "--config",
        str(DEFAULT_HYPERCORN_FILE),
        "--bind",
        f"127.0.0.1:{port}",
        "quart_llm:create_app()",
    ]
    server = subprocess.Popen(
        command, cwd=ROOT_PATH, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await wait_ready(base_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            body = {"model": "mock-1", "messages": [{"role": "user", "content": "one two three"}]}
            request = client.build_request("POST", "/v1/chat/stream", json=body, headers=AUTH)
            stream = await client.send(request, stream=True)
            assert stream.status_code == 200
            server.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            refused = False
            try:
                async with httpx.AsyncClient(timeout=3) as other:
                    await other.get(f"{base_url}/v1/health/live")
            except httpx.ConnectError:
                refused = True
            received = b"".join([piece async for piece in stream.aiter_bytes()])
        assert refused, "a new connection after SIGTERM is refused, never left hanging"
        assert received.endswith(b"data: [DONE]\n\n"), "the answer in flight finished"
        assert server.wait(20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
