"""The admin API's routes open to admin keys only; admin keys open nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from quart import Blueprint, Quart, Response
from quart_rate_limiter import rate_exempt

from quart_llm import create_app
from quart_llm.config.loader import ConfigurationError
from quart_llm.services.keys import hash_key
from quart_llm.web.admin_auth import admin_blueprint
from quart_llm.web.auth import admin, current_admin
from quart_llm.web.responses import json_response
from tests.conftest import AUTH

ADMIN = {"Authorization": "Bearer test-admin-key"}
probe = Blueprint("admin_probe", __name__)
guarded = admin_blueprint("admin_guarded", __name__)


@guarded.get("/guarded")
async def who_is_guarded_admin() -> Response:
    """A route of an admin blueprint, with no mark of its own."""
    return json_response({"key_id": current_admin().key_id})


@probe.get("/admin/v1/probe")
@rate_exempt
@admin
async def who_is_admin() -> Response:
    return json_response({"key_id": current_admin().key_id})


@pytest.fixture
async def app() -> AsyncIterator[Quart]:
    application = create_app()
    application.register_blueprint(probe)
    application.register_blueprint(guarded)
    async with application.test_app():
        yield application


async def test_an_admin_key_opens_the_admin_api(app: Quart) -> None:
    answer = await app.test_client().get("/admin/v1/probe", headers=ADMIN)
    assert answer.status_code == 200
    assert (await answer.get_json())["key_id"].startswith("key_")


@pytest.mark.parametrize("headers", [AUTH, {}, {"Authorization": "Bearer nope"}])
async def test_an_api_key_or_none_never_opens_it(app: Quart, headers: dict[str, str]) -> None:
    answer = await app.test_client().get("/admin/v1/probe", headers=headers)
    assert answer.status_code == 401
    assert (await answer.get_json())["error"]["type"] == "authentication_error"


async def test_an_admin_key_is_not_an_api_key(app: Quart) -> None:
    answer = await app.test_client().get("/v1/models", headers=ADMIN)
    assert answer.status_code == 401


def test_a_key_cannot_be_both() -> None:
    with pytest.raises(ConfigurationError, match="admin key may not also be an API key"):
        create_app({"api_keys": ["shared"], "admin_keys": ["shared"]})


@pytest.mark.parametrize(
    "headers", [ADMIN, {"x-api-key": "test-admin-key"}, {"Authorization": "bearer test-admin-key"}]
)
async def test_an_admin_blueprint_opens_to_an_admin_key_either_way(
    app: Quart, headers: dict[str, str]
) -> None:
    answer = await app.test_client().get("/admin/v1/guarded", headers=headers)
    assert answer.status_code == 200
    assert "RateLimit-Policy" not in answer.headers


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (AUTH, "invalid_admin_key"),
        ({"x-api-key": AUTH["Authorization"].removeprefix("Bearer ")}, "invalid_admin_key"),
        ({}, "missing_admin_key"),
        ({"Authorization": "Basic dGVzdC1hZG1pbi1rZXk="}, "missing_admin_key"),
    ],
)
async def test_an_admin_blueprint_refuses_api_keys_by_name(
    app: Quart, headers: dict[str, str], code: str
) -> None:
    answer = await app.test_client().get("/admin/v1/guarded", headers=headers)
    assert answer.status_code == 401
    error = (await answer.get_json())["error"]
    assert error["code"] == code
    assert "test-key" not in error["message"]


async def test_an_admin_key_stored_as_its_digest_opens_it() -> None:
    application = create_app({"admin_keys": [hash_key("digest-admin-key")]})
    application.register_blueprint(guarded)
    async with application.test_app():
        client = application.test_client()
        opened = await client.get(
            "/admin/v1/guarded", headers={"Authorization": "Bearer digest-admin-key"}
        )
        refused = await client.get(
            "/admin/v1/guarded", headers={"Authorization": f"Bearer {hash_key('digest-admin-key')}"}
        )
    assert opened.status_code == 200
    assert refused.status_code == 401


async def test_an_admin_blueprint_is_documented_with_its_tag_and_scheme(app: Quart) -> None:
    spec = await (await app.test_client().get("/openapi.json")).get_json()
    operation = spec["paths"]["/admin/v1/guarded"]["get"]
    assert operation["tags"] == ["admin"]
    assert operation["security"] == [{"adminKey": []}]
    assert spec["components"]["securitySchemes"]["adminKey"]["scheme"] == "bearer"
