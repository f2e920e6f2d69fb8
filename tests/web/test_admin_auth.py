"""The admin API's routes open to admin keys only; admin keys open nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from quart import Blueprint, Quart, Response
from quart_rate_limiter import rate_exempt

from quart_llm import create_app
from quart_llm.config.loader import ConfigurationError
from quart_llm.web.auth import admin, current_admin
from quart_llm.web.responses import json_response
from tests.conftest import AUTH

ADMIN = {"Authorization": "Bearer test-admin-key"}
probe = Blueprint("admin_probe", __name__)


@probe.get("/admin/v1/probe")
@rate_exempt
@admin
async def who_is_admin() -> Response:
    return json_response({"key_id": current_admin().key_id})


@pytest.fixture
async def app() -> AsyncIterator[Quart]:
    application = create_app()
    application.register_blueprint(probe)
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
