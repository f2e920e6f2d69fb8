from __future__ import annotations

from typing import Any

import pytest

from quart_llm import create_app
from tests.conftest import AUTH


async def preflight(overrides: dict[str, Any], origin: str) -> Any:
    app = create_app(overrides)
    async with app.test_app():
        return await app.test_client().options(
            "/v1/chat/completions",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )


async def test_cors_is_off_by_default() -> None:
    app = create_app()
    async with app.test_app():
        response = await app.test_client().get(
            "/v1/models", headers={**AUTH, "Origin": "https://app.example"}
        )
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_listed_origin_gets_cors_headers() -> None:
    app = create_app({"cors_origins": ["https://app.example"]})
    async with app.test_app():
        client = app.test_client()
        allowed = await client.get("/v1/models", headers={**AUTH, "Origin": "https://app.example"})
        other = await client.get("/v1/models", headers={**AUTH, "Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_preflight_needs_no_key_and_allows_listed_origins() -> None:
    response = await preflight({"cors_origins": ["https://app.example"]}, "https://app.example")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize(
    ("origins", "origin"), [(["https://app.example"], "https://evil.example"), ([], "https://x")]
)
async def test_preflight_from_other_origins_gets_no_grant(origins: list[str], origin: str) -> None:
    response = await preflight({"cors_origins": origins}, origin)
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_wildcard() -> None:
    response = await preflight({"cors_origins": ["*"]}, "https://anything.example")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
