from __future__ import annotations

import pytest
from pydantic import SecretStr
from quart.testing import QuartClient

from quart_llm.errors import AuthenticationFailed
from quart_llm.services.keys import KeyRing, hash_key
from quart_llm.web.auth import authenticate, bearer_token

PLAIN = "plain-key-123"
HASHED_SOURCE = "hashed-key-456"


@pytest.fixture
def overrides() -> dict[str, object]:
    return {"api_keys": [PLAIN, hash_key(HASHED_SOURCE)]}


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER   abc  ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("abc", None),
        ("Bearer a b", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_header_variants(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_wrong_and_missing_keys_are_refused_with_distinct_codes() -> None:
    ring = KeyRing([SecretStr(PLAIN)])
    with pytest.raises(AuthenticationFailed) as missing:
        authenticate(ring, None)
    assert missing.value.code == "missing_api_key"
    with pytest.raises(AuthenticationFailed) as wrong:
        authenticate(ring, "Bearer nope")
    assert wrong.value.code == "invalid_api_key"
    assert "nope" not in wrong.value.message


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {PLAIN}"},
        {"Authorization": PLAIN},
    ],
)
async def test_routes_refuse_missing_or_wrong_keys(
    client: QuartClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/models", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.content_type == "application/json"
    body = await response.get_json()
    assert set(body["error"]) >= {"message", "type", "param", "code"}
    assert body["error"]["type"] == "authentication_error"
    text = await response.get_data(as_text=True)
    assert "wrong" not in text and PLAIN not in text


@pytest.mark.parametrize("key", [PLAIN, HASHED_SOURCE])
async def test_routes_accept_plain_and_hashed_keys(client: QuartClient, key: str) -> None:
    response = await client.get("/v1/models", headers={"Authorization": f"bearer {key}"})
    assert response.status_code == 200


async def test_health_and_openapi_need_no_key(client: QuartClient) -> None:
    assert (await client.get("/v1/health")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/openapi-3.1.json")).status_code == 200


async def test_chat_needs_a_key(client: QuartClient) -> None:
    body = {"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}
    assert (await client.post("/v1/chat/completions", json=body)).status_code == 401
    assert (await client.post("/v1/chat/stream", json=body)).status_code == 401
