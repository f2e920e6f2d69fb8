"""An open stream does not keep its prompt. The request's body (as received and as parsed) and
the body sent upstream are let go once the answer streams: a stream lives for minutes and its
prompt may be megabytes. Checked with tracemalloc on a gateway served in this process (a real
Hypercorn server in a thread): what is still allocated by the gateway's own code while four
streams with a 1 MiB prompt each stay open, against an upstream that sent their first chunk
and then hangs."""

from __future__ import annotations

import asyncio
import gc
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import quart_llm
from tests.conftest import TEST_KEY
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.live_server import LiveServer, running_gateway

STREAMS = 4
PROMPT_CHARACTERS = 1024 * 1024
HELD_BOUND = PROMPT_CHARACTERS
"""Everything the gateway's code still holds for the four open streams together: less than one
prompt. Each stream held its prompt three times before (received, parsed, sent upstream)."""
GATEWAY_CODE = str(Path(quart_llm.__file__).parent / "*")


@pytest.fixture
def gateway() -> Iterator[LiveServer]:
    with OpenAICompatSimulator(SimulatorConfig(hang_seconds=60.0)) as upstream:
        timeouts = {"connect": 2, "first_byte": 10, "idle": 60, "total": 120}
        overrides: dict[str, Any] = {
            "default_provider": "sim",
            "limits": {"default": {"concurrent_streams": 100, "requests": []}},
            "providers": {
                "sim": {
                    "kind": "openai",
                    "base_url": f"{upstream.base_url}/v1",
                    "timeouts": timeouts,
                    "retry": {"attempts": 0},
                }
            },
        }
        with running_gateway(overrides) as live:
            yield live


def held_by_gateway_code(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes still allocated with any of the gateway's own frames on their traceback."""
    mine = snapshot.filter_traces([tracemalloc.Filter(True, GATEWAY_CODE, all_frames=True)])
    return sum(statistic.size for statistic in mine.statistics("filename"))


async def test_open_streams_do_not_hold_their_prompts(gateway: LiveServer) -> None:
    body = json.dumps(
        {
            "model": "sim/hang-mid-stream",
            "stream": True,
            "messages": [{"role": "user", "content": "x" * PROMPT_CHARACTERS}],
        }
    )
    headers = {"Authorization": f"Bearer {TEST_KEY}", "Content-Type": "application/json"}
    tracemalloc.start(40)
    try:
        async with (
            httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as client,
            asyncio.TaskGroup() as streams,
        ):
            first_chunks: list[asyncio.Future[None]] = []
            release = asyncio.Event()

            async def open_stream(first_chunk: asyncio.Future[None]) -> None:
                request = client.build_request("POST", "/v1/chat/completions", content=body)
                request.headers.update(headers)
                response = await client.send(request, stream=True)
                try:
                    assert response.status_code == 200
                    async for line in response.aiter_lines():
                        if line.startswith("data: {"):
                            first_chunk.set_result(None)
                            break
                    await release.wait()
                finally:
                    await response.aclose()

            for _ in range(STREAMS):
                first_chunks.append(asyncio.get_running_loop().create_future())
                streams.create_task(open_stream(first_chunks[-1]))
            await asyncio.wait_for(asyncio.gather(*first_chunks), 30)
            await asyncio.sleep(0.2)
            gc.collect()
            held = held_by_gateway_code(tracemalloc.take_snapshot())
            release.set()
    finally:
        tracemalloc.stop()
    assert held < HELD_BOUND, f"the open streams hold {held} bytes allocated by the gateway"
