"""`GET /admin/v1/status`: requests in flight, open streams, the quota store, deployments; for
admin keys only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from quart import Quart

from quart_llm import create_app
from quart_llm.web.context import SERVICES_KEY, current_services
from tests.conftest import AUTH
from tests.support.live_server import running_gateway
from tests.support.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

ADMIN = {"Authorization": "Bearer test-admin-key"}
ALIAS = {
    "strategy": "least_in_flight",
    "deployments": [{"target": "mock/mock-1", "weight": 3}, {"target": "mock/mock-2"}],
}


@pytest.fixture
async def app() -> AsyncIterator[Quart]:
    application = create_app(
        {
            "aliases": {"pair": ALIAS},
            "providers": {"mock": {"options": {"tokens_per_second": 20.0}}},
        }
    )
    async with application.test_app():
        yield application


async def test_an_idle_gateway_reports_nothing_in_flight(app: Quart) -> None:
    answer = await app.test_client().get("/admin/v1/status", headers=ADMIN)
    assert answer.status_code == 200
    status = await answer.get_json()
    assert status["object"] == "gateway_status"
    assert status["in_flight_requests"] == 0
    assert status["max_in_flight_requests"] == app.extensions[SERVICES_KEY].capacity.limit
    assert status["open_streams"] == {"mock": 0}
    assert status["draining"] is False
    assert status["quota_store"] == {
        "kind": "memory",
        "reachable": True,
        "on_failure": "open",
        "failures": 0,
    }
    assert status["deployments"] == {
        "pair": {
            "strategy": "least_in_flight",
            "deployments": [
                {
                    "provider": "mock",
                    "model": "mock-1",
                    "weight": 3,
                    "in_flight_requests": 0,
                    "latency_ms": None,
                },
                {
                    "provider": "mock",
                    "model": "mock-2",
                    "weight": 1,
                    "in_flight_requests": 0,
                    "latency_ms": None,
                },
            ],
        }
    }


async def test_a_stream_in_progress_is_counted() -> None:
    overrides = {
        "aliases": {"pair": ALIAS},
        "providers": {"mock": {"options": {"tokens_per_second": 20.0}}},
    }
    body = {"model": "pair", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with running_gateway(overrides) as gateway:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as client:
            async with client.stream("POST", "/v1/chat/completions", json=body, headers=AUTH):
                status = (await client.get("/admin/v1/status", headers=ADMIN)).json()
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                after = (await client.get("/admin/v1/status", headers=ADMIN)).json()
                if after["in_flight_requests"] == 0:
                    break
                await asyncio.sleep(0.02)
    assert status["in_flight_requests"] == 1
    assert status["open_streams"] == {"mock": 1}
    deployments = status["deployments"]["pair"]["deployments"]
    assert sum(d["in_flight_requests"] for d in deployments) == 1
    assert (after["in_flight_requests"], after["open_streams"]) == (0, {"mock": 0})
    assert sum(d["in_flight_requests"] for d in after["deployments"]["pair"]["deployments"]) == 0


@pytest.mark.parametrize("headers", [AUTH, {}, {"Authorization": "Bearer nope"}])
async def test_only_an_admin_key_opens_it(app: Quart, headers: dict[str, str]) -> None:
    answer = await app.test_client().get("/admin/v1/status", headers=headers)
    assert answer.status_code == 401
    assert (await answer.get_json())["error"]["type"] == "authentication_error"


async def test_redis_is_reported_reachable_then_not(redis_server: RedisServer) -> None:
    application = create_app({"redis_url": redis_server.url})
    async with application.test_app():
        client = application.test_client()
        status = await (await client.get("/admin/v1/status", headers=ADMIN)).get_json()
        assert status["quota_store"]["kind"] == "redis"
        assert status["quota_store"]["reachable"] is True
        redis_server.stop()
        status = await (await client.get("/admin/v1/status", headers=ADMIN)).get_json()
        assert status["quota_store"]["reachable"] is False
    async with application.app_context():
        assert current_services().quotas.store.kind == "redis"
