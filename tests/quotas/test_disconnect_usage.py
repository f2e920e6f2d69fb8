"""A client that disconnects mid-stream still has what it received counted, marked estimated,
and its concurrency slot and token reservation come back."""

from __future__ import annotations

import asyncio

import httpx

from quart_llm import create_app
from quart_llm.services.container import Services
from tests.conftest import AUTH
from tests.support.live_server import LiveServer


async def test_partial_usage_is_counted_after_a_disconnect() -> None:
    app = create_app(
        {
            "limits": {
                "default": {
                    "requests": [],
                    "concurrent_streams": 1,
                    "tokens": [{"count": 10_000, "period_seconds": 3600}],
                }
            },
            "providers": {"mock": {"options": {"tokens_per_second": 20}}},
        }
    )
    gateway = app.extensions["quart_llm"]
    assert isinstance(gateway, Services)
    live = LiveServer(app)
    live.start()
    try:
        async with httpx.AsyncClient(base_url=live.base_url, timeout=10) as client:
            body = {"model": "mock-1", "messages": [{"role": "user", "content": "tell me more"}]}
            async with client.stream("POST", "/v1/chat/stream", json=body, headers=AUTH) as resp:
                events = 0
                async for line in resp.aiter_lines():
                    events += line.startswith("data: ")
                    if events == 3:
                        break
            report: dict[str, object] = {}
            for _ in range(100):
                report = (await client.get("/v1/usage", headers=AUTH)).json()
                total = report["total"]
                assert isinstance(total, dict)
                if total["requests"] == 1:
                    break
                await asyncio.sleep(0.02)
            again = await client.post("/v1/chat/stream", json=body, headers=AUTH)
    finally:
        live.stop()
    total = report["total"]
    assert isinstance(total, dict)
    assert total["requests"] == 1
    assert total["estimated_requests"] == 1, "the mock's usage chunk never came"
    assert 1 <= total["completion_tokens"] <= 4, "what was streamed, not the whole answer"
    assert again.status_code == 200, "the slot was released"
