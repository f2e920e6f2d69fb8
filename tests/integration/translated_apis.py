"""What the Messages and Responses API tests share: the gateway in front of the simulators
(and its built-in mock), the models each provider kind answers with, and the disconnect check."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.conftest import AUTH
from tests.integration.gateway_with_simulators import Upstreams

SIMULATED = ("ollama", "openai")
PROVIDERS = ("mock", *SIMULATED)
MOCK_REPLY = "This is a mock reply from quart_llm. You said: Hello there"
WEATHER_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def model(provider: str, scenario: str = "normal") -> str:
    """The model that makes `provider` play `scenario` (the mock has one model)."""
    return "mock/mock-1" if provider == "mock" else f"{provider}/sim/{scenario}"


async def upstream_close_lag(
    upstreams: Upstreams, provider: str, path: str, body: dict[str, Any], *, http2: bool
) -> float:
    """Seconds between a client leaving a long stream of `path` and its upstream seeing the
    close; no task of the stream outlives it."""
    simulator = upstreams.simulator(provider)
    simulator.clear()
    simulator.config.tokens = [f" t{index}" for index in range(400)]
    tasks_before = upstreams.gateway.task_count()
    try:
        async with (
            httpx.AsyncClient(
                base_url=upstreams.gateway.base_url, http1=not http2, http2=http2, timeout=10
            ) as client,
            client.stream("POST", path, json=body, headers=AUTH) as response,
        ):
            assert response.status_code == 200
            received = 0
            async for _ in response.aiter_bytes():
                received += 1
                if received >= 3:
                    break
            closed_at = time.monotonic()
        (recorded,) = await asyncio.to_thread(simulator.wait_for_requests, 1, 2.0)
        upstream_closed = await asyncio.to_thread(simulator.wait_for_client_close, recorded, 3.0)
    finally:
        simulator.config.tokens = list(type(simulator.config)().tokens)
    deadline = time.monotonic() + 2
    while upstreams.gateway.task_count() > tasks_before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert upstreams.gateway.task_count() <= tasks_before, "a task outlived the stream"
    return upstream_closed - closed_at
