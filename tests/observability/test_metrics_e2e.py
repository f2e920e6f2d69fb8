"""Scrape /metrics from a real server after a scripted mix of requests: every counter moves by
exactly what happened, and each request leaves exactly one log line with the right fields."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from quart_llm.services.keys import key_id_for_key
from tests.conftest import AUTH, TEST_KEY
from tests.integration.gateway_with_simulators import (
    NO_RESILIENCE,
    TIMEOUTS,
)
from tests.simulators import OllamaSimulator, OpenAICompatSimulator, SimulatorConfig
from tests.support.live_server import LiveServer, running_gateway
from tests.support.log_capture import Records

LIMITED_KEY = "limited-key-123"
HELLO = [{"role": "user", "content": "Hello there"}]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[LiveServer, Records]]:
    config = SimulatorConfig(first_token_delay=0.2, token_interval=0.01)
    collector = Records()
    access = logging.getLogger("quart_llm.access")
    access.addHandler(collector)
    with OllamaSimulator(config) as ollama, OpenAICompatSimulator(config) as openai:
        overrides: dict[str, Any] = {
            "api_keys": [TEST_KEY, LIMITED_KEY],
            "metrics": {"public": True},
            "limits": {
                "tiers": {"small": {"requests": [{"count": 2, "period_seconds": 3600}]}},
                "keys": {key_id_for_key(LIMITED_KEY): "small"},
            },
            "pricing": {
                "models": {"mock/mock-1": {"input_per_million": 1000, "output_per_million": 2000}}
            },
            "providers": {
                "ollama": {
                    "kind": "ollama",
                    "enabled": True,
                    "base_url": ollama.base_url,
                    "timeouts": TIMEOUTS,
                    **NO_RESILIENCE,
                },
                "openai": {
                    "kind": "openai",
                    "base_url": f"{openai.base_url}/v1",
                    "timeouts": TIMEOUTS,
                    **NO_RESILIENCE,
                },
            },
        }
        try:
            with running_gateway(overrides) as live:
                yield live, collector
        finally:
            access.removeHandler(collector)


async def scrape(client: httpx.AsyncClient) -> Samples:
    text = (await client.get("/metrics")).text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v
        for (n, key), v in samples.items()
        if n == name and all((k, val) in key for k, val in labels.items())
    )


async def test_counters_move_by_exactly_what_happened(
    gateway: tuple[LiveServer, Records],
) -> None:
    live, collector = gateway
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as client:
        before = await scrape(client)
        collector.records.clear()
        completion_tokens = 0
        cost = 0.0
        for _ in range(3):
            answer = await client.post(
                "/v1/chat/completions", headers=AUTH, json={"model": "mock-1", "messages": HELLO}
            )
            usage = answer.json()["usage"]
            completion_tokens += usage["completion_tokens"]
            cost += (usage["prompt_tokens"] * 1000 + usage["completion_tokens"] * 2000) / 1e6
            assert float(answer.headers["X-Quart-LLM-Overhead-Ms"]) >= 0
        for _ in range(2):
            streamed = await client.post(
                "/v1/chat/stream",
                headers=AUTH,
                json={"model": "openai/gpt-4o-mini", "messages": HELLO},
            )
            assert streamed.text.endswith("data: [DONE]\n\n")
        failed = await client.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"model": "openai/sim/error-before-stream", "messages": HELLO},
        )
        assert failed.status_code == 502
        broken = await client.post(
            "/v1/chat/stream",
            headers=AUTH,
            json={"model": "ollama/sim/error-mid-stream", "messages": HELLO},
        )
        assert '"error"' in broken.text
        limited = [
            (
                await client.get("/v1/models", headers={"Authorization": f"Bearer {LIMITED_KEY}"})
            ).status_code
            for _ in range(3)
        ]
        assert limited == [200, 200, 429]
        bad = await client.post(
            "/v1/chat/completions", headers=AUTH, json={"model": "mock-1", "messages": []}
        )
        assert bad.status_code == 400
        after: Samples = {}
        for _ in range(50):
            after = await scrape(client)
            if value(after, "quart_llm_open_streams") == 0 and len(collector.records) >= 11:
                break
            await asyncio.sleep(0.05)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    chat = "/v1/chat/completions"
    stream = "/v1/chat/stream"
    assert delta("quart_llm_requests_total", route=chat, status="200", provider="mock") == 3
    assert delta("quart_llm_requests_total", route=stream, status="200", provider="openai") == 2
    assert delta("quart_llm_requests_total", route=chat, status="502", provider="openai") == 1
    assert delta("quart_llm_requests_total", route=stream, status="200", provider="ollama") == 1
    assert delta("quart_llm_requests_total", route="/v1/models", status="429") == 1
    assert delta("quart_llm_requests_total", route=chat, status="400") == 1
    assert delta("quart_llm_upstream_errors_total", provider="openai", kind="status_5xx") == 1
    assert delta("quart_llm_upstream_errors_total", provider="ollama", kind="stream_error") == 1
    assert delta("quart_llm_rate_limited_total", limit="requests") == 1
    assert delta("quart_llm_tokens_total", provider="mock", direction="completion") == (
        completion_tokens
    )
    assert delta("quart_llm_cost_usd_total", provider="mock") == pytest.approx(cost)
    assert delta("quart_llm_unpriced_answers_total", provider="openai") == 2
    assert delta("quart_llm_cost_usd_total", provider="openai") == 0, "unknown is not zero"
    assert delta("quart_llm_time_to_first_token_seconds_count", provider="openai") == 2
    assert delta("quart_llm_chunk_gap_seconds_count", provider="openai") > 0
    assert value(after, "quart_llm_open_streams") == 0
    for name in (
        "quart_llm_gateway_overhead_seconds_count",
        "quart_llm_request_duration_seconds_count",
    ):
        assert delta(name) - delta(name, route="/metrics") == 11, name
    for (name, labels), _ in after.items():
        assert TEST_KEY not in str(labels) and LIMITED_KEY not in str(labels), name

    lines = [r for r in collector.records if r.getMessage().split(" ")[1] != "/metrics"]
    assert len(lines) == 11, [r.getMessage() for r in lines]
    streamed_line = next(
        r
        for r in lines
        if r.__dict__["http.route"] == stream and r.__dict__["gen_ai.provider.name"] == "openai"
    )
    fields = streamed_line.__dict__
    for field in (
        "quart_llm.request_id",
        "quart_llm.key_id",
        "gen_ai.operation.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "http.response.status_code",
        "quart_llm.duration_ms",
        "quart_llm.time_to_first_chunk_ms",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "quart_llm.outcome",
        "quart_llm.overhead_ms",
    ):
        assert fields[field] is not None, field
    assert fields["quart_llm.outcome"] == "ok"
    assert fields["quart_llm.key_id"] == key_id_for_key(TEST_KEY)
    broken_line = next(r for r in lines if r.__dict__.get("gen_ai.provider.name") == "ollama")
    assert broken_line.__dict__["quart_llm.outcome"] == "upstream_error"
    assert broken_line.__dict__["error.type"] == "upstream_stream_error"


async def test_metrics_need_their_token_unless_public() -> None:
    with running_gateway({"metrics": {"token": "scrape-secret"}}) as live:
        async with httpx.AsyncClient(base_url=live.base_url) as client:
            assert (await client.get("/metrics")).status_code == 401
            assert (await client.get("/metrics", headers=AUTH)).status_code == 401
            ok = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert ok.status_code == 200
    assert "quart_llm_requests_total" in ok.text
    with running_gateway() as closed:
        response = httpx.get(f"{closed.base_url}/metrics")
    assert response.status_code == 403
