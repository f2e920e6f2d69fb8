"""`GET /v1/health`: the version it reports."""

from __future__ import annotations

from quart.testing import QuartClient

from quart_llm.config.version import gateway_version


async def test_health_and_openapi_report_the_version(client: QuartClient) -> None:
    answer = await client.get("/v1/health")
    assert (await answer.get_json())["version"] == gateway_version()
    document = await client.get("/openapi.json")
    assert (await document.get_json())["info"]["version"] == gateway_version()
