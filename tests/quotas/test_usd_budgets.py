"""USD budgets and cost through the routes (in-process app and store): the worst case
reserved, the request that would cross a budget refused with its headers, settlement at the
real cost, a model without a price refused under a budget, and each request's cost on its
access line (chat whole and streamed, Messages, Responses; OpenRouter's own cost winning)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from quart import Quart

from quart_llm import create_app
from quart_llm.quotas.policy import usd_limit
from quart_llm.quotas.service import usd_subject
from quart_llm.services.container import Services
from quart_llm.services.keys import key_id_for_key
from tests.conftest import AUTH, TEST_KEY
from tests.simulators import OpenAICompatSimulator, SimulatorConfig

HELLO = [{"role": "user", "content": "Hello there"}]
PROMPT_ESTIMATE = 7  # ceil(len("Hello there") / 4) + 4 per message
PRICES = {"mock/mock-1": {"input_per_million": "1000", "output_per_million": "2000"}}
"""$0.001 a prompt token, $0.002 a completion token."""
BUDGET = Decimal("0.1")
WORST_CASE = PROMPT_ESTIMATE * Decimal("0.001") + 10 * Decimal("0.002")  # max_tokens 10


def budget_app(**extra: Any) -> Quart:
    tier = {"requests": [], "usd": [{"amount": str(BUDGET), "period_seconds": 86_400}]}
    return create_app(
        {
            "limits": {"default": tier},
            "pricing": {"models": PRICES},
            "providers": {"mock": {"options": {"first_token_delay_seconds": 0.3}}},
            **extra,
        }
    )


def cost_of(usage: dict[str, int]) -> Decimal:
    return usage["prompt_tokens"] * Decimal("0.001") + usage["completion_tokens"] * Decimal("0.002")


async def charged_micros(app: Quart) -> int:
    """What the key's daily USD window holds now (a zero reservation reads it)."""
    services: Services = app.extensions["quart_llm"]
    limit = usd_limit(BUDGET, 86_400)
    decision = await services.quotas.store.reserve_tokens(
        usd_subject(key_id_for_key(TEST_KEY)), [limit], 0
    )
    return limit.count - decision.states[0].remaining


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO, logger="quart_llm.access"):
        yield caplog


async def access_line(caplog: pytest.LogCaptureFixture, path: str) -> dict[str, Any]:
    """The one access line of `path` (a stream's is written once it has been accounted)."""
    for _ in range(100):
        lines = [r.__dict__ for r in caplog.records if getattr(r, "http.route", "") == path]
        if lines:
            (line,) = lines
            return line
        await asyncio.sleep(0.01)
    raise AssertionError(f"no access line for {path}")


async def test_the_request_that_would_cross_the_budget_is_refused() -> None:
    app = budget_app()
    body = {"model": "mock-1", "messages": HELLO, "max_tokens": 10}
    async with app.test_app():
        client = app.test_client()
        answers = await asyncio.gather(
            *(client.post("/v1/chat/completions", json=body, headers=AUTH) for _ in range(6))
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] * 3 + [429] * 3, "3 worst cases of $0.027 fit in $0.1"
        refused = next(answer for answer in answers if answer.status_code == 429)
        error = (await refused.get_json())["error"]
        await asyncio.sleep(0.05)  # settlement runs in the background
        spent = sum(
            [cost_of((await a.get_json())["usage"]) for a in answers if a.status_code == 200],
            Decimal(0),
        )
        assert await charged_micros(app) == spent * 1_000_000, "settled at the real cost"
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "usd_limit_exceeded"
    assert error["param"] == "max_tokens"
    assert "$0.1 per 86400 s" in error["message"]
    assert "reserves $0.027" in error["message"]
    assert refused.headers["RateLimit-Policy"] == (
        '"usd-micros-86400";q=100000;w=86400;qu="usd-micros"'
    )
    assert refused.headers["RateLimit-Limit"] == "100000"
    assert int(refused.headers["RateLimit-Remaining"]) < WORST_CASE * 1_000_000
    assert int(refused.headers["Retry-After"]) >= 1


async def test_each_request_is_admitted_exactly_when_its_worst_case_still_fits() -> None:
    """One at a time, each settled at its real cost (below its worst case) before the next."""
    app = budget_app()
    body = {"model": "mock-1", "messages": HELLO, "max_tokens": 30}
    worst = int((PROMPT_ESTIMATE * Decimal("0.001") + 30 * Decimal("0.002")) * 1_000_000)
    budget = int(BUDGET * 1_000_000)
    async with app.test_app():
        client = app.test_client()
        seen = []
        for _ in range(6):
            before = await charged_micros(app)
            answer = await client.post("/v1/chat/completions", json=body, headers=AUTH)
            await asyncio.sleep(0.02)  # settlement runs in the background
            seen.append((before, answer.status_code, await charged_micros(app)))
    assert [status for before, status, _ in seen] == [
        200 if before + worst <= budget else 429 for before, _, _ in seen
    ]
    assert [status for _, status, _ in seen].count(200) > budget // worst, "settled below"
    assert all(after <= budget for _, _, after in seen)
    assert all(after == before for before, status, after in seen if status == 429)


async def test_a_model_without_a_price_is_refused_under_a_usd_budget() -> None:
    app = budget_app(
        providers={"mock": {"models": ["mock-1", "mock-2"]}},
    )
    async with app.test_app():
        client = app.test_client()
        body = {"model": "mock-2", "messages": HELLO}
        refused = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        message = {"model": "mock-2", "max_tokens": 10, "messages": HELLO}
        anthropic = await client.post("/v1/messages", json=message, headers=AUTH)
        fine = await client.post(
            "/v1/chat/completions", json={**body, "model": "mock-1", "max_tokens": 10}, headers=AUTH
        )
    assert refused.status_code == 403
    error = (await refused.get_json())["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "permission_error",
        "model_not_priced",
        "model",
    )
    assert "mock/mock-2" in error["message"]
    assert fine.status_code == 200
    assert anthropic.status_code == 403
    assert (await anthropic.get_json())["error"]["type"] == "permission_error"


async def test_without_a_budget_an_unpriced_model_is_served_at_unknown_cost(
    access_log: pytest.LogCaptureFixture,
) -> None:
    app = create_app({"providers": {"mock": {"models": ["mock-2"]}}})
    async with app.test_app():
        body = {"model": "mock-2", "messages": HELLO}
        answer = await app.test_client().post("/v1/chat/completions", json=body, headers=AUTH)
        line = await access_line(access_log, "/v1/chat/completions")
    assert answer.status_code == 200
    assert line["gen_ai.usage.output_tokens"] > 0
    assert "quart_llm.cost_usd" not in line, "unknown: left out, never zero"


ROUTES = [
    ("/v1/chat/completions", {"model": "mock-1", "messages": HELLO}),
    ("/v1/chat/completions", {"model": "mock-1", "messages": HELLO, "stream": True}),
    ("/v1/messages", {"model": "mock-1", "max_tokens": 32, "messages": HELLO}),
    ("/v1/messages", {"model": "mock-1", "max_tokens": 32, "messages": HELLO, "stream": True}),
    ("/v1/responses", {"model": "mock-1", "input": "Hello there"}),
    ("/v1/responses", {"model": "mock-1", "input": "Hello there", "stream": True}),
]


@pytest.mark.parametrize(("path", "body"), ROUTES)
async def test_every_route_s_access_line_carries_its_cost(
    path: str, body: dict[str, Any], access_log: pytest.LogCaptureFixture
) -> None:
    app = create_app({"pricing": {"models": PRICES}})
    async with app.test_app():
        answer = await app.test_client().post(path, json=body, headers=AUTH)
        assert answer.status_code == 200
        await answer.get_data()
        line = await access_line(access_log, path)
    tokens = {
        "prompt_tokens": line["gen_ai.usage.input_tokens"],
        "completion_tokens": line["gen_ai.usage.output_tokens"],
    }
    assert tokens["completion_tokens"] > 0
    assert Decimal(repr(line["quart_llm.cost_usd"])) == cost_of(tokens)


@pytest.fixture
def openrouter() -> Iterator[OpenAICompatSimulator]:
    config = SimulatorConfig(
        first_token_delay=0.05, token_interval=0.001, cost_per_token=(0.00001, 0.00003)
    )
    with OpenAICompatSimulator(config, flavor="openrouter") as simulator:
        yield simulator


def openrouter_app(openrouter: OpenAICompatSimulator, **extra: Any) -> Quart:
    url = openrouter.base_url + "/api/v1"
    provider = {"kind": "openrouter", "enabled": True, "base_url": url, "api_key": "sk-or-test"}
    return create_app({"providers": {"openrouter": provider}, **extra})


@pytest.mark.parametrize("stream", [False, True])
async def test_openrouter_s_reported_cost_wins_over_the_table(
    openrouter: OpenAICompatSimulator, stream: bool, access_log: pytest.LogCaptureFixture
) -> None:
    table = {"openrouter/openai/gpt-4o": PRICES["mock/mock-1"]}
    app = openrouter_app(openrouter, pricing={"models": table})
    body = {"model": "openrouter/openai/gpt-4o", "messages": HELLO, "stream": stream}
    async with app.test_app():
        answer = await app.test_client().post("/v1/chat/completions", json=body, headers=AUTH)
        assert answer.status_code == 200
        await answer.get_data()
        line = await access_line(access_log, "/v1/chat/completions")
    prompt, completion = line["gen_ai.usage.input_tokens"], line["gen_ai.usage.output_tokens"]
    per_token = openrouter.config.cost_per_token
    assert per_token is not None
    reported = prompt * per_token[0] + completion * per_token[1]
    assert line["quart_llm.cost_usd"] == reported
    tokens = {"prompt_tokens": prompt, "completion_tokens": completion}
    assert Decimal(repr(reported)) != cost_of(tokens), "not the table's price"


async def test_openrouter_s_published_price_serves_when_no_cost_is_reported(
    openrouter: OpenAICompatSimulator, access_log: pytest.LogCaptureFixture
) -> None:
    openrouter.config.cost_per_token = None
    app = openrouter_app(openrouter)
    body = {"model": "openrouter/openai/gpt-4o", "messages": HELLO}
    async with app.test_app():
        answer = await app.test_client().post("/v1/chat/completions", json=body, headers=AUTH)
        line = await access_line(access_log, "/v1/chat/completions")
    usage = (await answer.get_json())["usage"]
    assert "cost" not in usage
    listed = Decimal("0.000001") * usage["prompt_tokens"]
    listed += Decimal("0.000002") * usage["completion_tokens"]
    assert Decimal(repr(line["quart_llm.cost_usd"])) == listed
