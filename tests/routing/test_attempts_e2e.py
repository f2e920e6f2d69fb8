"""Retries, fallbacks and circuit breakers through a real gateway; the simulators count every
request they receive, so each retry is observed, not inferred."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import AUTH
from tests.simulators import OllamaSimulator, OpenAICompatSimulator, SimulatorConfig
from tests.simulators.recording import RecordedRequest
from tests.support.live_server import LiveServer, running_gateway
from tests.support.ports import free_port
from tests.support.sse_reader import parse_sse

HELLO = [{"role": "user", "content": "Hello"}]
FAST_RETRIES = {
    "attempts": 2,
    "backoff_initial_seconds": 0.01,
    "backoff_max_seconds": 0.05,
    "max_retry_after_seconds": 2,
}


@dataclass
class Setup:
    gateway: LiveServer
    flaky: OpenAICompatSimulator
    ollama: OllamaSimulator


@pytest.fixture(scope="module")
def setup() -> Iterator[Setup]:
    config = SimulatorConfig(retry_after=1, first_token_delay=0.2, hang_seconds=3)
    dead_url = f"http://127.0.0.1:{free_port()}/v1"
    with OpenAICompatSimulator(config) as flaky, OllamaSimulator(SimulatorConfig()) as ollama:
        overrides: dict[str, Any] = {
            "sse": {"keepalive_seconds": 0.5},
            "metrics": {"public": True},
            "providers": {
                "flaky": {
                    "kind": "openai",
                    "base_url": f"{flaky.base_url}/v1",
                    "retry": FAST_RETRIES,
                    "circuit": {"failure_threshold": 1000},
                },
                "dead": {
                    "kind": "openai",
                    "base_url": dead_url,
                    "retry": FAST_RETRIES,
                    "circuit": {"failure_threshold": 1000},
                },
                "doomed": {
                    "kind": "openai",
                    "base_url": dead_url,
                    "retry": {"attempts": 0},
                    "circuit": {"failure_threshold": 2, "cooldown_seconds": 1, "strict": True},
                },
                "panicky": {
                    "kind": "openai",
                    "base_url": dead_url,
                    "retry": {"attempts": 0},
                    "circuit": {"failure_threshold": 2, "cooldown_seconds": 30},
                },
                "scoped": {
                    "kind": "openai",
                    "base_url": f"{flaky.base_url}/v1",
                    "retry": FAST_RETRIES,
                    "circuit": {"failure_threshold": 2, "cooldown_seconds": 30, "strict": True},
                },
                "ollama": {"kind": "ollama", "enabled": True, "base_url": ollama.base_url},
            },
            "fallbacks": {
                "dead": ["mock/mock-1"],
                "flaky/sim/error-before-stream": ["ollama/llama3.2:latest"],
            },
        }
        with running_gateway(overrides) as gateway:
            yield Setup(gateway, flaky, ollama)


async def chat(setup: Setup, model: str, *, stream: bool = False) -> httpx.Response:
    async with httpx.AsyncClient(base_url=setup.gateway.base_url, timeout=30) as client:
        return await client.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"model": model, "messages": HELLO, "stream": stream},
        )


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_429_is_retried_honouring_retry_after(setup: Setup, stream: bool) -> None:
    setup.flaky.clear()
    response = await chat(setup, "flaky/sim/rate-limited", stream=stream)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    received = posts(setup)
    assert len(received) == 3, "the first try and two retries"
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(received)]
    assert all(gap >= 0.95 for gap in gaps), f"Retry-After: 1 was honoured: {gaps}"


def posts(setup: Setup) -> list[RecordedRequest]:
    """The chat requests the flaky upstream got (its health probes are GETs, at any time)."""
    return [request for request in setup.flaky.requests if request.method == "POST"]


async def test_unretryable_errors_are_tried_once(setup: Setup) -> None:
    for scenario, status in (("unknown-model", 404), ("html-500", 502)):
        setup.flaky.clear()
        response = await chat(setup, f"flaky/sim/{scenario}")
        assert response.status_code == status
        assert len(posts(setup)) == 1, scenario


async def test_no_retry_once_streaming_has_begun(setup: Setup) -> None:
    setup.flaky.clear()
    response = await chat(setup, "flaky/sim/error-mid-stream", stream=True)
    parsed = parse_sse(response.text)
    assert response.status_code == 200
    assert len(parsed.errors) == 1
    assert len(posts(setup)) == 1


async def test_connection_refused_is_retried_then_falls_back(setup: Setup) -> None:
    for stream in (False, True):
        response = await chat(setup, "dead/any-model", stream=stream)
        assert response.status_code == 200, response.text
        assert response.headers["X-Quart-LLM-Provider"] == "mock"
        if stream:
            chunks = parse_sse(response.text).chunks
            assert chunks[0]["provider"] == "mock"
            assert chunks[0]["model"] == "mock/mock-1"
        else:
            assert response.json()["provider"] == "mock"


async def test_a_model_falls_back_to_another_providers_model(setup: Setup) -> None:
    setup.flaky.clear()
    setup.ollama.clear()
    response = await chat(setup, "flaky/sim/error-before-stream")
    assert response.status_code == 200
    assert response.json()["model"] == "ollama/llama3.2:latest"
    assert len(posts(setup)) == 1, "a 500 is not retried, but it falls back"
    assert len(setup.ollama.requests) == 1


async def test_circuit_opens_shows_in_health_and_closes_after_the_cooldown(
    setup: Setup,
) -> None:
    async with httpx.AsyncClient(base_url=setup.gateway.base_url, timeout=30) as client:
        statuses = [(await chat(setup, "doomed/x")).json()["error"]["code"] for _ in range(3)]
        assert statuses == ["upstream_unavailable", "upstream_unavailable", "upstream_circuit_open"]
        skipped = await chat(setup, "doomed/x")
        assert skipped.status_code == 503
        assert int(skipped.headers["Retry-After"]) >= 1
        health = (await client.get("/v1/health")).json()
        assert health["providers"]["doomed"]["circuit"] == "open"
        await asyncio.sleep(1.1)
        health = (await client.get("/v1/health")).json()
        assert health["providers"]["doomed"]["circuit"] == "half_open"
        trial = await chat(setup, "doomed/x")
        assert trial.json()["error"]["code"] == "upstream_unavailable", "the trial went through"
        assert (await chat(setup, "doomed/x")).json()["error"]["code"] == "upstream_circuit_open"


async def test_a_single_route_held_open_is_still_tried_in_panic_mode(setup: Setup) -> None:
    """Without `strict`, an open breaker with no other route turns into one more try, not a
    certain 503; the panics are counted."""
    codes = [(await chat(setup, "panicky/x")).json()["error"]["code"] for _ in range(4)]
    assert codes == ["upstream_unavailable"] * 4, "each request still reached for the upstream"
    async with httpx.AsyncClient(base_url=setup.gateway.base_url, timeout=30) as client:
        health = (await client.get("/v1/health")).json()
        metrics = (await client.get("/metrics")).text
    assert health["providers"]["panicky"]["circuit"] == "open"
    assert 'quart_llm_circuit_panics_total{provider="panicky"} 2.0' in metrics


async def test_failed_answers_open_a_models_breaker_not_its_providers(setup: Setup) -> None:
    setup.flaky.clear()
    failing, healthy = "scoped/sim/error-before-stream", "scoped/sim/normal"
    codes = [(await chat(setup, failing)).json()["error"]["code"] for _ in range(3)]
    assert codes == ["upstream_error", "upstream_error", "upstream_circuit_open"]
    assert len(posts(setup)) == 2, "the open model is skipped (strict mode)"
    for _ in range(5):
        assert (await chat(setup, healthy)).status_code == 200, "other models are untouched"
    async with httpx.AsyncClient(base_url=setup.gateway.base_url, timeout=30) as client:
        scoped = (await client.get("/v1/health")).json()["providers"]["scoped"]
    assert scoped["circuit"] == "closed"
    assert scoped["models"] == {"sim/error-before-stream": "open"}


async def test_rate_limits_never_open_a_breaker(setup: Setup) -> None:
    setup.flaky.clear()
    for _ in range(4):
        answer = await chat(setup, "scoped/sim/rate-limited")
        assert answer.json()["error"]["code"] == "upstream_rate_limited"
    async with httpx.AsyncClient(base_url=setup.gateway.base_url, timeout=30) as client:
        scoped = (await client.get("/v1/health")).json()["providers"]["scoped"]
    assert "sim/rate-limited" not in scoped["models"]
    assert scoped["circuit"] == "closed"
