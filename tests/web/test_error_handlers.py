"""Every error the service returns is JSON in the OpenAI shape."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient
from quart_rate_limiter import RateLimitExceeded
from werkzeug.datastructures import Headers

from quart_llm import create_app
from tests.conftest import AUTH

CHAT = "/v1/chat/completions"
VALID = {"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}


async def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.content_type == "application/json"
    body = await response.get_json()
    assert set(body) == {"error"}
    assert {"message", "type", "param", "code"} <= set(body["error"])
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    error: dict[str, Any] = body["error"]
    return error


async def test_unknown_route_is_404(client: QuartClient) -> None:
    error = await error_of(await client.get("/v1/nothing", headers=AUTH), 404)
    assert error["type"] == "not_found_error"


async def test_wrong_method_is_405_with_allow(client: QuartClient) -> None:
    response = await client.get(CHAT, headers=AUTH)
    error = await error_of(response, 405)
    assert error["code"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


@pytest.fixture
def overrides() -> dict[str, object]:
    return {"max_body_bytes": 2048}


async def test_body_too_large_is_413(client: QuartClient) -> None:
    big = {"model": "mock-1", "messages": [{"role": "user", "content": "x" * 5000}]}
    error = await error_of(await client.post(CHAT, json=big, headers=AUTH), 413)
    assert error["code"] == "request_too_large"


async def test_wrong_content_type_is_415(client: QuartClient) -> None:
    response = await client.post(
        CHAT, data="model=x", headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    )
    error = await error_of(response, 415)
    assert error["code"] == "unsupported_media_type"


async def test_missing_content_type_is_415(client: QuartClient) -> None:
    response = await client.post(CHAT, data=b'{"model":"x"}', headers=AUTH)
    await error_of(response, 415)


async def test_malformed_json_is_400(client: QuartClient) -> None:
    response = await client.post(
        CHAT, data=b'{"model": "x",', headers={**AUTH, "Content-Type": "application/json"}
    )
    error = await error_of(response, 400)
    assert error["code"] == "invalid_json"


async def test_non_object_json_is_400(client: QuartClient) -> None:
    response = await client.post(
        CHAT, data=b"[1, 2]", headers={**AUTH, "Content-Type": "application/json"}
    )
    error = await error_of(response, 400)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "mock-1", "messages": []}, "messages"),
        (
            {"model": "mock-1", "messages": [{"role": "wizard", "content": "hi"}]},
            "messages[0].role",
        ),
        ({**VALID, "temperature": 7}, "temperature"),
        ({**VALID, "temprature": 0.5}, "temprature"),
        ({**VALID, "max_tokens": "lots"}, "max_tokens"),
    ],
)
async def test_schema_violations_are_400_naming_the_field(
    client: QuartClient, body: dict[str, Any], param: str
) -> None:
    error = await error_of(await client.post(CHAT, json=body, headers=AUTH), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param.split("[")[0].split(".")[0] in error["message"]


async def test_schema_errors_do_not_echo_input(client: QuartClient) -> None:
    body = {**VALID, "temperature": "sEcReT-looking-value"}
    response = await client.post(CHAT, json=body, headers=AUTH)
    assert "sEcReT" not in await response.get_data(as_text=True)


def _app_with_failing_routes() -> Quart:
    app = create_app()

    @app.get("/v1/boom")
    async def boom() -> str:
        raise RuntimeError("secret internals /etc/passwd")

    @app.get("/v1/limited")
    async def limited() -> str:
        raise RateLimitExceeded(7)

    return app


async def test_unexpected_failure_is_opaque_500() -> None:
    app = _app_with_failing_routes()
    async with app.test_app():
        response = await app.test_client().get("/v1/boom", headers=AUTH)
        error = await error_of(response, 500)
        text = await response.get_data(as_text=True)
    assert error["type"] == "server_error"
    assert "secret internals" not in text and "Traceback" not in text


async def test_rate_limiter_429_is_json_and_keeps_retry_after() -> None:
    app = _app_with_failing_routes()
    async with app.test_app():
        response = await app.test_client().get("/v1/limited", headers=AUTH)
        error = await error_of(response, 429)
    assert error["type"] == "rate_limit_error"
    assert response.headers["Retry-After"] == "7"


async def test_client_request_id_is_kept_when_sane(client: QuartClient) -> None:
    response = await client.get("/v1/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    response = await client.get("/v1/health", headers=Headers({"X-Request-ID": "bad id\t!"}))
    assert response.headers["X-Request-ID"].startswith("req_")


async def test_security_headers_on_every_response(client: QuartClient) -> None:
    for response in (await client.get("/v1/health"), await client.get("/v1/nothing")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
