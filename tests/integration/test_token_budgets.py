"""Token budgets that hold, end to end: the upstream is told the limit that was reserved, and an
upstream that ignores it is cut there, streamed or whole, and charged at most the reservation.

One live gateway in front of the three protocol simulators; every key has a token budget, and
each test uses a key of its own, so the budget window a test reads holds only its requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.gateway_with_simulators import (
    Upstreams,
    gateway_overrides,
    simulator_config,
)
from tests.simulators import OllamaSimulator, OpenAICompatSimulator
from tests.support.live_server import running_gateway
from tests.support.sse_reader import parse_sse

PROVIDERS = ("ollama", "openai", "openrouter")
BUDGET = 100_000
DEFAULT_MAX_TOKENS = 12
HELLO = [{"role": "user", "content": "Hello"}]
PROMPT_ESTIMATE = 6  # ceil(len("Hello") / 4) + 4 per message
RESERVATION = PROMPT_ESTIMATE + DEFAULT_MAX_TOKENS
PROBE_RESERVATION = PROMPT_ESTIMATE + 1
TOKENS = ["Hello", "!", " The", " café", " opens", " at", " nine", " 🙂"]
RUNAWAY = "".join(TOKENS * 250)  # what the ignore-limit scenario makes: 2,000 tokens
KEYS = [
    f"budget-{test}-{provider}" for test in ("sent", "stream", "whole") for provider in PROVIDERS
]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    ollama = OllamaSimulator(simulator_config())
    openai = OpenAICompatSimulator(simulator_config(), flavor="openai")
    openrouter = OpenAICompatSimulator(simulator_config(), flavor="openrouter")
    with ollama, openai, openrouter:
        overrides: dict[str, Any] = {
            **gateway_overrides(ollama, openai, openrouter),
            "api_keys": KEYS,
            "limits": {
                "default": {
                    "requests": [],
                    "tokens": [{"count": BUDGET, "period_seconds": 3600}],
                    "default_max_tokens": DEFAULT_MAX_TOKENS,
                }
            },
        }
        with running_gateway(overrides) as gateway:
            yield Upstreams(ollama, openai, openrouter, gateway)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def model(provider: str, scenario: str = "normal") -> str:
    return f"{provider}/sim/{scenario}"


async def charged(client: httpx.AsyncClient, key: str, requests: int) -> tuple[int, dict[str, Any]]:
    """What the key's budget window holds once `requests` answers are settled (streams settle
    in the background), and its usage report: a probe reserving PROBE_RESERVATION reads the
    window in its `X-RateLimit-Remaining-Tokens`."""
    report: dict[str, Any] = {}
    for _ in range(200):
        report = (await client.get("/v1/usage", headers=auth(key))).json()
        if report["total"]["requests"] >= requests:
            break
        await asyncio.sleep(0.02)
    assert report["total"]["requests"] == requests, report
    body = {"model": model("openai"), "messages": HELLO, "max_tokens": 1}
    probe = await client.post("/v1/chat/completions", json=body, headers=auth(key))
    assert probe.status_code == 200, probe.text
    remaining = int(probe.headers["X-RateLimit-Remaining-Tokens"])
    return BUDGET - remaining - PROBE_RESERVATION, report


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_upstream_is_told_the_tiers_default_limit(
    upstreams: Upstreams, provider: str
) -> None:
    simulator = upstreams.simulator(provider)
    simulator.clear()
    key = f"budget-sent-{provider}"
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url, timeout=30) as client:
        whole = await client.post(
            "/v1/chat/completions",
            json={"model": model(provider), "messages": HELLO},
            headers=auth(key),
        )
        body = {"model": model(provider), "messages": HELLO, "stream": True}
        streamed = await client.post("/v1/chat/completions", json=body, headers=auth(key))
        named = {"model": model(provider), "messages": HELLO, "max_completion_tokens": 5}
        own = await client.post("/v1/chat/completions", json=named, headers=auth(key))
    assert (whole.status_code, streamed.status_code, own.status_code) == (200, 200, 200)
    sent = [request.json for request in simulator.requests]
    if provider == "ollama":
        assert [upstream["options"]["num_predict"] for upstream in sent] == [12, 12, 5]
    else:
        assert [upstream.get("max_tokens") for upstream in sent] == [12, 12, None]
        assert sent[2]["max_completion_tokens"] == 5, "sent as the client named it"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_stream_past_the_limit_is_cut_there(upstreams: Upstreams, provider: str) -> None:
    simulator = upstreams.simulator(provider)
    simulator.clear()
    key = f"budget-stream-{provider}"
    body = {"model": model(provider, "ignore-limit"), "messages": HELLO}
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url, timeout=30) as client:
        response = await client.post("/v1/chat/stream", json=body, headers=auth(key))
        ended_at = time.monotonic()
        (recorded,) = simulator.requests
        closed_at = await asyncio.to_thread(simulator.wait_for_client_close, recorded, 5.0)
        window, report = await charged(client, key, 1)
    lag_ms = (closed_at - ended_at) * 1000
    print(f"{provider}: the upstream saw the close {lag_ms:+.1f} ms from the stream's end")
    assert response.status_code == 200, response.text
    parsed = parse_sse(response.text)
    assert parsed.done and parsed.errors == []
    assert parsed.text == "".join(TOKENS + TOKENS[:4]), "exactly the 12 tokens of the limit"
    finishes = [c["choices"][0]["finish_reason"] for c in parsed.chunks if c["choices"]]
    assert [reason for reason in finishes if reason] == ["length"]
    usage = parsed.chunks[-1]["usage"]
    assert usage["completion_tokens"] <= DEFAULT_MAX_TOKENS
    assert closed_at - recorded.received_at < 10, "closed at the cut, not after 2,000 tokens"
    assert recorded.finished_at is None or recorded.finished_at >= closed_at
    assert closed_at <= ended_at + 1.0, "the upstream was closed when the stream ended"
    assert window <= RESERVATION
    assert report["total"]["completion_tokens"] <= DEFAULT_MAX_TOKENS
    assert report["total"]["total_tokens"] <= RESERVATION


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_whole_answer_past_the_limit_is_cut_there(
    upstreams: Upstreams, provider: str
) -> None:
    key = f"budget-whole-{provider}"
    body = {"model": model(provider, "ignore-limit"), "messages": HELLO}
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url, timeout=30) as client:
        response = await client.post("/v1/chat/completions", json=body, headers=auth(key))
        window, report = await charged(client, key, 1)
    assert response.status_code == 200, response.text
    answer = response.json()
    (choice,) = answer["choices"]
    content = choice["message"]["content"]
    assert choice["finish_reason"] == "length"
    assert content and RUNAWAY.startswith(content)
    assert len(content) <= len(RUNAWAY) * DEFAULT_MAX_TOKENS // 2000
    assert answer["usage"]["completion_tokens"] == DEFAULT_MAX_TOKENS
    assert window <= RESERVATION
    assert report["total"]["completion_tokens"] == DEFAULT_MAX_TOKENS
    assert report["total"]["total_tokens"] <= RESERVATION
