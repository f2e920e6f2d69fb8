"""`/v1/embeddings` under chat's rules (in-process app): request limits, token budgets that
reserve the inputs alone and settle the real usage, concurrency slots, the usage report, the
access line and metrics by route, `X-Request-ID`, and a provider switched off for embeddings."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart

from quart_llm import create_app
from tests.conftest import AUTH

EMBED = {"model": "mock-1", "input": ["Hello there", "General Kenobi"]}
CHAT = {"model": "mock-1", "messages": [{"role": "user", "content": "Hello there"}]}


def limited_app(mock: dict[str, Any] | None = None, **tier: Any) -> Quart:
    return create_app(
        {
            "limits": {"default": tier},
            "metrics": {"public": True},
            "providers": {"mock": mock or {}},
        }
    )


async def test_request_limits_count_embeddings_with_chat() -> None:
    app = limited_app(requests=[{"count": 2, "period_seconds": 3600}])
    async with app.test_app():
        client = app.test_client()
        assert (await client.post("/v1/embeddings", json=EMBED, headers=AUTH)).status_code == 200
        chat = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert chat.status_code == 200
        refused = await client.post("/v1/embeddings", json=EMBED, headers=AUTH)
    assert refused.status_code == 429
    assert (await refused.get_json())["error"]["code"] == "requests_limit_exceeded"
    assert int(refused.headers["Retry-After"]) > 1000


async def test_token_budgets_reserve_the_inputs_alone_and_settle_their_usage() -> None:
    """A chat without max_tokens reserves the tier's default output (1024), more than this
    budget; embeddings have no output, so only their inputs are reserved and charged."""
    app = limited_app(tokens=[{"count": 100, "period_seconds": 3600}], requests=[])
    async with app.test_app():
        client = app.test_client()
        chat = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
        assert chat.status_code == 429
        answers = [
            await (await client.post("/v1/embeddings", json=EMBED, headers=AUTH)).get_json()
            for _ in range(3)
        ]
        too_big = {"model": "mock-1", "input": "word " * 400}
        refused = await client.post("/v1/embeddings", json=too_big, headers=AUTH)
        await asyncio.sleep(0.05)  # settlement runs in the background
        report = await (await client.get("/v1/usage", headers=AUTH)).get_json()
    assert refused.status_code == 429
    assert (await refused.get_json())["error"]["code"] == "tokens_limit_exceeded"
    used = sum(answer["usage"]["prompt_tokens"] for answer in answers)
    assert used > 0
    assert report["total"]["prompt_tokens"] == report["total"]["total_tokens"] == used
    assert report["total"]["requests"] == 3


async def test_concurrency_slots_hold_embeddings_while_they_run() -> None:
    app = limited_app({"options": {"first_token_delay_seconds": 0.3}}, concurrent_streams=1)
    async with app.test_app():
        client = app.test_client()
        results = await asyncio.gather(
            *(client.post("/v1/embeddings", json=EMBED, headers=AUTH) for _ in range(2))
        )
        assert sorted(r.status_code for r in results) == [200, 429]
        refused = await next(r for r in results if r.status_code == 429).get_json()
        assert refused["error"]["code"] == "concurrency_limit_exceeded"
        again = await client.post("/v1/embeddings", json=EMBED, headers=AUTH)
        assert again.status_code == 200, "the slot was freed when the answer was sent"


async def test_access_line_metrics_and_request_id(caplog: pytest.LogCaptureFixture) -> None:
    app = limited_app()
    headers = {**AUTH, "X-Request-ID": "embed-trace-1"}
    async with app.test_app():
        client = app.test_client()
        with caplog.at_level(logging.INFO, logger="quart_llm.access"):
            response = await client.post("/v1/embeddings", json=EMBED, headers=headers)
        scraped = await (await client.get("/metrics")).get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "embed-trace-1"
    answer = await response.get_json()
    (line,) = [
        record.__dict__
        for record in caplog.records
        if getattr(record, "http.route", None) == "/v1/embeddings"
    ]
    assert line["quart_llm.request_id"] == "embed-trace-1"
    assert line["gen_ai.operation.name"] == "embeddings"
    assert line["gen_ai.request.model"] == "mock-1"
    assert line["gen_ai.provider.name"] == "mock"
    assert line["gen_ai.usage.input_tokens"] == answer["usage"]["prompt_tokens"]
    assert line["gen_ai.usage.output_tokens"] == 0
    assert line["quart_llm.outcome"] == "ok"
    samples = [
        sample
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "quart_llm_requests_total"
    ]
    assert {sample.labels["route"] for sample in samples} == {"/v1/embeddings"}
    prompt_tokens = [
        sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name.startswith("quart_llm_tokens") and sample.labels.get("direction") == "prompt"
    ]
    assert answer["usage"]["prompt_tokens"] in prompt_tokens


async def test_a_provider_switched_off_for_embeddings_refuses_them_with_400() -> None:
    app = limited_app({"embeddings": {"enabled": False}})
    async with app.test_app():
        client = app.test_client()
        refused = await client.post("/v1/embeddings", json=EMBED, headers=AUTH)
        chat = await client.post("/v1/chat/completions", json=CHAT, headers=AUTH)
    assert refused.status_code == 400
    error = (await refused.get_json())["error"]
    assert (error["code"], error["param"]) == ("embeddings_unsupported", "model")
    assert error["message"] == "provider 'mock' does not make embeddings"
    assert chat.status_code == 200


async def test_a_failing_route_falls_back_and_a_slow_one_meets_the_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(
        {
            "fallbacks": {"mock/mock-fail-early": ["mock/mock-fail-midway", "mock/mock-1"]},
            "providers": {
                "slow": {
                    "kind": "mock",
                    "options": {"first_token_delay_seconds": 5},
                    "timeouts": {"total": 0.2},
                    "retry": {"attempts": 0},
                },
            },
        }
    )
    async with app.test_app():
        client = app.test_client()
        with caplog.at_level(logging.INFO, logger="quart_llm.access"):
            fell_back = await client.post(
                "/v1/embeddings", json={**EMBED, "model": "mock/mock-fail-early"}, headers=AUTH
            )
            timed_out = await client.post(
                "/v1/embeddings", json={**EMBED, "model": "slow/mock-1"}, headers=AUTH
            )
    assert fell_back.status_code == 200
    answer = await fell_back.get_json()
    assert (answer["model"], answer["provider"]) == ("mock/mock-1", "mock")
    assert len(answer["data"]) == 2
    assert timed_out.status_code == 504
    assert (await timed_out.get_json())["error"]["code"] == "upstream_timeout"
    lines = [r.__dict__ for r in caplog.records if getattr(r, "http.route", None)]
    assert lines[0]["quart_llm.fallbacks"] == 2


async def test_an_alias_serves_embeddings_from_its_deployments() -> None:
    app = create_app(
        {
            "aliases": {
                "embedder": {
                    "strategy": "weighted",
                    "deployments": [{"target": "mock/mock-fail-early"}, {"target": "mock/mock-1"}],
                }
            },
            "providers": {"mock": {"retry": {"attempts": 0}}},
        }
    )
    async with app.test_app():
        client = app.test_client()
        answers = [
            await client.post("/v1/embeddings", json={**EMBED, "model": "embedder"}, headers=AUTH)
            for _ in range(2)
        ]
    assert [answer.status_code for answer in answers] == [200, 200]
    for answer in answers:
        assert (await answer.get_json())["model"] == "mock/mock-1"
