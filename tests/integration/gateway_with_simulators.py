"""A live gateway in front of the three protocol simulators, shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import AUTH
from tests.simulators import (
    OllamaSimulator,
    OpenAICompatSimulator,
    RecordedRequest,
    SimulatorConfig,
    SimulatorServer,
)
from tests.support.live_server import LiveServer, running_gateway

UPSTREAM_KEY = "sk-upstream-secret-123"
TIMEOUTS = {"connect": 1.0, "first_byte": 1.5, "idle": 0.6, "total": 20.0}
# Each scenario must show the upstream's own failure: no retries, no circuit breaker.
NO_RESILIENCE = {"retry": {"attempts": 0}, "circuit": {"failure_threshold": 1_000_000}}
# The window in which an upstream failure still gets a real HTTP status. It is wide enough that
# an immediate upstream error lands inside it on a slow, loaded CI machine (one took 272 ms),
# and narrower than the slow-first-token delay (0.7 s), which must always see keep-alives.
KEEPALIVE_SECONDS = 0.5
TEXT = "Hello! The café opens at nine 🙂"


@dataclass
class Upstreams:
    ollama: OllamaSimulator
    openai: OpenAICompatSimulator
    openrouter: OpenAICompatSimulator
    gateway: LiveServer

    def simulator(self, provider: str) -> OllamaSimulator | OpenAICompatSimulator:
        simulator: OllamaSimulator | OpenAICompatSimulator = getattr(self, provider)
        return simulator


def simulator_config() -> SimulatorConfig:
    return SimulatorConfig(
        first_token_delay=0.7, token_interval=0.02, hang_seconds=4.0, api_key=UPSTREAM_KEY
    )


def gateway_overrides(
    ollama: OllamaSimulator, openai: OpenAICompatSimulator, openrouter: OpenAICompatSimulator
) -> dict[str, Any]:
    return {
        "sse": {"keepalive_seconds": KEEPALIVE_SECONDS},
        # One probe round at start only: tests count the requests each simulator receives.
        "health": {"cache_seconds": 3600},
        "default_provider": "mock",
        "providers": {
            "ollama": {
                "kind": "ollama",
                "enabled": True,
                "base_url": ollama.base_url,
                "api_key": UPSTREAM_KEY,
                "timeouts": TIMEOUTS,
                **NO_RESILIENCE,
            },
            "openai": {
                "kind": "openai",
                "base_url": f"{openai.base_url}/v1",
                "api_key": UPSTREAM_KEY,
                "timeouts": TIMEOUTS,
                **NO_RESILIENCE,
            },
            "openrouter": {
                "kind": "openrouter",
                "enabled": True,
                "optional": False,
                "base_url": f"{openrouter.base_url}/api/v1",
                "api_key": UPSTREAM_KEY,
                "api_key_env": None,
                "http_referer": "https://example.test",
                "app_title": "quart_llm tests",
                "timeouts": TIMEOUTS,
                **NO_RESILIENCE,
            },
        },
    }


@contextmanager
def upstreams_and_gateway() -> Iterator[Upstreams]:
    with ExitStack() as stack:
        ollama = stack.enter_context(OllamaSimulator(simulator_config()))
        openai = stack.enter_context(OpenAICompatSimulator(simulator_config(), flavor="openai"))
        openrouter = stack.enter_context(
            OpenAICompatSimulator(simulator_config(), flavor="openrouter")
        )
        gateway = stack.enter_context(
            running_gateway(gateway_overrides(ollama, openai, openrouter))
        )
        yield Upstreams(ollama, openai, openrouter, gateway)


def chat_requests(simulator: SimulatorServer) -> list[RecordedRequest]:
    """What reached the simulator's chat route: its POSTs (the gateway's health probes and
    model lists, which may land at any time, are GETs)."""
    return [recorded for recorded in simulator.requests if recorded.method == "POST"]


async def posted(simulator: SimulatorServer, timeout: float) -> list[RecordedRequest]:
    """The chat requests once at least one has arrived (an empty list after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not (found := chat_requests(simulator)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return found


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
        (recorded,) = await posted(simulator, 2.0)
        upstream_closed = await asyncio.to_thread(simulator.wait_for_client_close, recorded, 3.0)
    finally:
        simulator.config.tokens = list(type(simulator.config)().tokens)
    deadline = time.monotonic() + 2
    while upstreams.gateway.task_count() > tasks_before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert upstreams.gateway.task_count() <= tasks_before, "a task outlived the stream"
    lag = upstream_closed - closed_at
    print(f"{provider} {'h2' if http2 else 'h1'}: upstream saw the close {lag * 1000:.1f} ms after")
    return lag
