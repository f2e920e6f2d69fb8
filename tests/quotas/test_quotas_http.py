"""Quotas through the routes (in-process store): 429s that name their limit, headers,
token reservations and settlement, concurrency slots, and the usage report."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quart import Quart

from quart_llm import create_app
from quart_llm.services.container import Services
from tests.conftest import AUTH

HELLO = [{"role": "user", "content": "Hello there"}]


def limited_app(**tier: Any) -> Quart:
    return create_app({"limits": {"default": tier}})


async def chat(app: Quart, **extra: Any) -> Any:
    body = {"model": "mock-1", "messages": HELLO, **extra}
    return await app.test_client().post("/v1/chat/completions", json=body, headers=AUTH)


async def test_request_limit_refuses_with_the_openai_shape_and_ietf_headers() -> None:
    app = limited_app(requests=[{"count": 3, "period_seconds": 3600}])
    async with app.test_app():
        client = app.test_client()
        answers = [await client.get("/v1/models", headers=AUTH) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    assert answers[0].headers["RateLimit-Policy"] == '"requests-3600";q=3;w=3600'
    assert [a.headers["RateLimit"] for a in answers[:3]] == [
        f'"requests-3600";r={left};t={answers[i].headers["RateLimit-Reset"]}'
        for i, left in enumerate((2, 1, 0))
    ]
    refused = answers[3]
    error = (await refused.get_json())["error"]
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "requests_limit_exceeded"
    assert "3 requests per 3600 s" in error["message"]
    assert int(refused.headers["Retry-After"]) > 1000
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_request_limits_are_shared_by_routes_and_spare_health() -> None:
    app = limited_app(requests=[{"count": 2, "period_seconds": 3600}])
    async with app.test_app():
        client = app.test_client()
        assert (await client.get("/v1/models", headers=AUTH)).status_code == 200
        assert (await chat(app)).status_code == 200
        assert (await client.get("/v1/usage", headers=AUTH)).status_code == 429
        for _ in range(5):
            assert (await client.get("/v1/health")).status_code == 200


async def test_several_windows_at_once_name_the_one_that_refused() -> None:
    app = limited_app(
        requests=[{"count": 100, "period_seconds": 60}, {"count": 2, "period_seconds": 86400}]
    )
    async with app.test_app():
        client = app.test_client()
        for _ in range(2):
            assert (await client.get("/v1/models", headers=AUTH)).status_code == 200
        refused = await client.get("/v1/models", headers=AUTH)
    assert refused.status_code == 429
    assert "2 requests per 86400 s" in (await refused.get_json())["error"]["message"]
    policies = '"requests-60";q=100;w=60, "requests-86400";q=2;w=86400'
    assert refused.headers["RateLimit-Policy"] == policies, "every policy of the key"
    assert refused.headers["RateLimit"].startswith('"requests-86400";r=0;t='), (
        "the one that refused"
    )


async def test_token_budget_reserves_then_settles_with_real_usage() -> None:
    app = limited_app(
        tokens=[{"count": 100, "period_seconds": 3600}],
        default_max_tokens=40,
        requests=[],
    )
    async with app.test_app():
        first = await chat(app)
        assert first.status_code == 200
        used = (await first.get_json())["usage"]["total_tokens"]
        assert first.headers["X-RateLimit-Limit-Tokens"] == "100"
        # The reservation (prompt estimate + 40) is replaced by the real usage.
        usage = await (await app.test_client().get("/v1/usage", headers=AUTH)).get_json()
        assert usage["total"]["total_tokens"] == used
        answers = [await chat(app) for _ in range(6)]
    statuses = [answer.status_code for answer in answers]
    admitted = 1 + statuses.count(200)
    assert 429 in statuses
    assert admitted * used <= 100 + 40, "never more than fits, give or take the last answer"
    refused = next(answer for answer in answers if answer.status_code == 429)
    error = (await refused.get_json())["error"]
    assert error["code"] == "tokens_limit_exceeded"
    assert error["param"] == "max_tokens"
    assert "100 tokens per 3600 s" in error["message"]
    assert refused.headers["RateLimit-Limit"] == "100"


async def test_the_upstream_is_held_to_the_tiers_default_only_under_a_budget() -> None:
    budgeted = limited_app(
        tokens=[{"count": 1000, "period_seconds": 3600}], default_max_tokens=3, requests=[]
    )
    async with budgeted.test_app():
        held = await (await chat(budgeted)).get_json()
        own = await (await chat(budgeted, max_tokens=5)).get_json()
    unbudgeted = limited_app(default_max_tokens=3, requests=[])
    async with unbudgeted.test_app():
        free = await (await chat(unbudgeted)).get_json()
    assert held["choices"][0]["message"]["content"] == "This is a"
    assert (held["choices"][0]["finish_reason"], held["usage"]["completion_tokens"]) == (
        "length",
        3,
    )
    assert own["usage"]["completion_tokens"] == 5, "the client's own limit wins"
    assert free["choices"][0]["finish_reason"] == "stop", "no budget, no limit of the gateway's"


async def test_a_request_that_can_never_fit_is_refused_before_the_upstream() -> None:
    app = limited_app(tokens=[{"count": 50, "period_seconds": 60}], requests=[])
    async with app.test_app():
        refused = await chat(app, max_tokens=500)
        usage = await (await app.test_client().get("/v1/usage", headers=AUTH)).get_json()
    assert refused.status_code == 429
    assert usage["total"]["requests"] == 0


async def test_bad_input_spends_no_token_budget() -> None:
    app = limited_app(tokens=[{"count": 60, "period_seconds": 3600}], requests=[])
    async with app.test_app():
        for bad in (
            {"temperature": 9},
            {"tools": [{"type": "function", "function": {"name": "f"}}]},
            {"provider": "nope"},
        ):
            assert (await chat(app, **bad)).status_code == 400
        ok = await chat(app, max_tokens=20)
    assert ok.status_code == 200


async def test_concurrency_cap_counts_open_streams_and_frees_them() -> None:
    app = create_app(
        {
            "limits": {"default": {"concurrent_streams": 2, "requests": []}},
            "providers": {"mock": {"options": {"tokens_per_second": 40}}},
        }
    )
    async with app.test_app():
        client = app.test_client()
        body = {"model": "mock-1", "messages": HELLO}
        results = await asyncio.gather(
            *(client.post("/v1/chat/stream", json=body, headers=AUTH) for _ in range(4))
        )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 200, 429, 429]
        refused = next(r for r in results if r.status_code == 429)
        assert (await refused.get_json())["error"]["code"] == "concurrency_limit_exceeded"
        gateway = app.extensions["quart_llm"]
        assert isinstance(gateway, Services)
        for _ in range(50):
            if not len(gateway.tasks):
                break
            await asyncio.sleep(0.01)
        again = await client.post("/v1/chat/stream", json=body, headers=AUTH)
        assert again.status_code == 200, "slots were freed when the streams ended"


async def test_usage_report_by_model_with_estimates_marked() -> None:
    app = create_app()
    async with app.test_app():
        await chat(app)
        await chat(app, max_tokens=2)
        response = await app.test_client().get("/v1/usage", headers=AUTH)
    report = await response.get_json()
    assert report["object"] == "usage"
    assert report["key_id"].startswith("key_")
    total = report["total"]
    assert total["requests"] == 2
    assert total["by_model"]["mock/mock-1"]["requests"] == 2
    assert total["estimated_requests"] == 0
    assert [w["period_seconds"] for w in report["windows"]] == [3600, 86400]
    assert report["windows"][0]["requests"] == 2
    assert report["limits"]["concurrent_streams"] == 64


@pytest.mark.parametrize("policy", ["open", "closed"])
async def test_store_outage_follows_the_policy(policy: str) -> None:
    from quart_llm.quotas.stores.base import QuotaBackendUnavailable

    app = create_app({"limits": {"on_store_failure": policy}})
    gateway = app.extensions["quart_llm"]
    assert isinstance(gateway, Services)

    async def unavailable(*args: object, **kwargs: object) -> Any:
        raise QuotaBackendUnavailable("down")

    async with app.test_app():
        gateway.quotas.store.hit_request_limits = unavailable  # type: ignore[method-assign]
        gateway.quotas.store.acquire_lease = unavailable  # type: ignore[method-assign]
        response = await chat(app)
    if policy == "open":
        assert response.status_code == 200
        assert gateway.quotas.store_failures >= 1
    else:
        assert response.status_code == 503
        assert (await response.get_json())["error"]["code"] == "quota_store_unavailable"
