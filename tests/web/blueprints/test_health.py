"""The health routes: the report and its version, liveness and readiness."""

from __future__ import annotations

from quart.testing import QuartClient

from quart_llm import create_app
from quart_llm.config.version import gateway_version
from quart_llm.web.context import current_services
from tests.support.ports import free_port


async def test_health_and_openapi_report_the_version(client: QuartClient) -> None:
    answer = await client.get("/v1/health")
    assert (await answer.get_json())["version"] == gateway_version()
    document = await client.get("/openapi.json")
    assert (await document.get_json())["info"]["version"] == gateway_version()


async def test_liveness_and_readiness(client: QuartClient) -> None:
    live = await client.get("/v1/health/live")
    ready = await client.get("/v1/health/ready")
    assert (live.status_code, await live.get_json()) == (200, {"status": "alive"})
    assert (ready.status_code, await ready.get_json()) == (200, {"status": "ready"})


async def test_a_draining_gateway_is_alive_but_not_ready(client: QuartClient) -> None:
    async with client.app.app_context():
        current_services().drainer.draining = True
    assert (await client.get("/v1/health/live")).status_code == 200
    ready = await client.get("/v1/health/ready")
    assert ready.status_code == 503
    assert (await ready.get_json())["error"]["code"] == "server_shutting_down"


async def test_without_a_reachable_provider_the_gateway_is_not_ready() -> None:
    overrides = {
        "default_provider": "gone",
        "providers": {
            "mock": {"enabled": False},
            "gone": {"kind": "openai", "base_url": f"http://127.0.0.1:{free_port()}/v1"},
        },
    }
    app = create_app(overrides)
    async with app.test_app():
        client = app.test_client()
        ready = await client.get("/v1/health/ready")
        live = await client.get("/v1/health/live")
    assert ready.status_code == 503
    assert (await ready.get_json())["error"]["code"] == "no_provider_reachable"
    assert live.status_code == 200
