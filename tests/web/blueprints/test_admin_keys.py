"""`/admin/v1/keys` through the app: the contract's key object, the secret once, pagination
and filters, static keys read-only, changes in force at once, refusals in the API's shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient

from quart_llm.providers.mock import DEFAULT_MODELS as MOCK_MODELS
from quart_llm.services.keys import key_id_for_key
from quart_llm.web.context import SERVICES_KEY
from tests.conftest import AUTH, TEST_KEY

ADMIN = {"Authorization": "Bearer test-admin-key"}
KEY_FIELDS = {
    "object", "id", "name", "owner", "metadata", "tier", "allowed_models", "budgets",
    "expires_at", "created_at", "updated_at", "revoked_at", "status", "source", "hint",
}  # fmt: skip


@pytest.fixture
def overrides() -> dict[str, object]:
    mock_price = {"input_per_million": "1", "output_per_million": "2"}
    return {
        "limits": {"tiers": {"gold": {"concurrent_streams": 3}}},
        "pricing": {"models": {"mock/mock-1": mock_price}},
        "aliases": {
            "both": {"deployments": [{"target": "mock/mock-1"}, {"target": "mock/mock-2"}]},
            "other": {"deployments": [{"target": "mock/mock-2"}]},
        },
    }


async def create(client: QuartClient, **body: Any) -> dict[str, Any]:
    answer = await client.post("/admin/v1/keys", json={"name": "k", **body}, headers=ADMIN)
    assert answer.status_code == 201, await answer.get_data()
    created: dict[str, Any] = await answer.get_json()
    return created


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def chat(client: QuartClient, secret: str, model: str = "mock/mock-1") -> Any:
    return await client.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers=bearer(secret),
    )


async def test_a_created_key_shows_its_secret_once_and_works_at_once(client: QuartClient) -> None:
    created = await create(
        client,
        owner="team-a",
        metadata={"cost_center": 42},
        tier="gold",
        budgets={"tokens_per_day": 100000, "usd_per_month": 12.5},
        allowed_models=["mock/*"],
        expires_at="2099-01-01T00:00:00Z",
    )
    secret = created.pop("secret")
    assert set(created) == KEY_FIELDS
    assert secret.startswith("qlm-") and len(secret) > 40
    assert created["id"] == key_id_for_key(secret)
    assert created["hint"] == f"qlm-…{secret[-4:]}"
    assert created["budgets"] == {
        "tokens_per_day": 100000, "tokens_per_month": None, "usd_per_day": None,
        "usd_per_month": 12.5,
    }  # fmt: skip
    assert created["expires_at"] == "2099-01-01T00:00:00Z"
    assert (created["status"], created["source"], created["tier"]) == ("active", "database", "gold")
    shown = await (await client.get(f"/admin/v1/keys/{created['id']}", headers=ADMIN)).get_json()
    assert "secret" not in shown and shown == created
    assert (await chat(client, secret)).status_code == 200
    unpriced = await chat(client, secret, model="mock/mock-fail-early")  # allowed, no price
    assert unpriced.status_code == 403
    assert (await unpriced.get_json())["error"]["code"] == "model_not_priced"


async def test_revoking_refuses_the_key_at_once_and_is_idempotent(client: QuartClient) -> None:
    created = await create(client)
    revoked = await client.delete(f"/admin/v1/keys/{created['id']}", headers=ADMIN)
    body = await revoked.get_json()
    assert (revoked.status_code, body["status"]) == (200, "revoked")
    again = await (await client.delete(f"/admin/v1/keys/{created['id']}", headers=ADMIN)).get_json()
    assert again["revoked_at"] == body["revoked_at"]
    refused = await chat(client, created["secret"])
    assert refused.status_code == 401
    assert (await refused.get_json())["error"]["code"] == "key_revoked"


async def test_an_expired_key_is_refused(client: QuartClient) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    created = await create(client, expires_at=soon.isoformat())
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await client.patch(f"/admin/v1/keys/{created['id']}", json={"expires_at": past}, headers=ADMIN)
    refused = await chat(client, created["secret"])
    assert refused.status_code == 401
    assert (await refused.get_json())["error"]["code"] == "key_expired"


@pytest.mark.parametrize(
    ("model", "status"),
    [("mock/mock-1", 200), ("mock-1", 200), ("mock/mock-2", 403), ("mock-2", 403)],
)
async def test_allowed_models_match_the_request_or_what_it_resolved_to(
    client: QuartClient, model: str, status: int
) -> None:
    created = await create(client, allowed_models=["ollama/*", "mock/mock-1"])
    answer = await chat(client, created["secret"], model)
    assert answer.status_code == status
    if status == 403:
        error = (await answer.get_json())["error"]
        assert (error["code"], error["type"]) == ("model_not_allowed", "permission_error")


async def test_model_not_allowed_in_the_anthropic_shape_on_messages(client: QuartClient) -> None:
    created = await create(client, allowed_models=["ollama/*"])
    answer = await client.post(
        "/v1/messages",
        json={
            "model": "mock/mock-1",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        },
        headers={"x-api-key": created["secret"]},
    )
    assert answer.status_code == 403
    body = await answer.get_json()
    assert (body["type"], body["error"]["type"]) == ("error", "permission_error")


@pytest.mark.parametrize(
    ("model", "status"),
    [("mock/mock-1", 200), ("both", 200), ("mock/mock-2", 403), ("ollama/x", 403)],
)
async def test_count_tokens_judges_the_model_as_messages_would(
    client: QuartClient, model: str, status: int
) -> None:
    created = await create(client, allowed_models=["mock/mock-1"])
    answer = await client.post(
        "/v1/messages/count_tokens",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": created["secret"]},
    )
    assert answer.status_code == status
    body = await answer.get_json()
    if status == 403:
        assert (body["type"], body["error"]["type"]) == ("error", "permission_error")
    else:
        assert body["input_tokens"] > 0


async def test_model_not_allowed_on_responses(client: QuartClient) -> None:
    created = await create(client, allowed_models=["ollama/*"])
    answer = await client.post(
        "/v1/responses",
        json={"model": "mock/mock-1", "input": "hi"},
        headers=bearer(created["secret"]),
    )
    assert answer.status_code == 403
    assert (await answer.get_json())["error"]["code"] == "model_not_allowed"


@pytest.mark.parametrize(
    ("allowed", "listed"),
    [
        (["mock/mock-1"], {"mock/mock-1", "both"}),
        (["other"], {"other"}),
        (["mock/mock-2"], {"both", "other"}),
        (["mock/mock-1", "mock/mock-fail-*"], {"both", *(f"mock/{m}" for m in MOCK_MODELS)}),
    ],
)
async def test_the_model_list_shows_what_the_key_may_use(
    client: QuartClient, allowed: list[str], listed: set[str]
) -> None:
    everything = await (await client.get("/v1/models", headers=AUTH)).get_json()
    created = await create(client, allowed_models=allowed)
    answer = await client.get("/v1/models", headers=bearer(created["secret"]))
    ids = {card["id"] for card in (await answer.get_json())["data"]}
    assert answer.status_code == 200
    assert ids == listed
    assert listed < {card["id"] for card in everything["data"]}  # the others are left out


async def test_the_listing_pages_and_filters(client: QuartClient) -> None:
    ids = [
        (await create(client, name=f"n{i}", owner="o" if i % 2 else None))["id"] for i in range(5)
    ]
    await client.delete(f"/admin/v1/keys/{ids[0]}", headers=ADMIN)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (
            await client.get("/admin/v1/keys", query_string=query, headers=ADMIN)
        ).get_json()
        assert page["object"] == "list" and len(page["data"]) <= 2
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [key["source"] for key in seen] == ["settings"] + ["database"] * 5
    assert seen[0]["id"] == key_id_for_key(TEST_KEY)
    assert [key["id"] for key in seen[1:]] == ids

    async def listed(**query: str) -> list[str]:
        page = await (
            await client.get("/admin/v1/keys", query_string=query, headers=ADMIN)
        ).get_json()
        return [key["id"] for key in page["data"]]

    assert await listed(owner="o") == [ids[1], ids[3]]
    assert len(await listed(owner="", name="", status="", cursor="")) == 6
    assert await listed(status="revoked") == [ids[0]]
    assert await listed(name="n2") == [ids[2]]
    assert await listed(source="settings") == [key_id_for_key(TEST_KEY)]
    assert len(await listed(status="active", source="database")) == 4


async def test_static_keys_are_read_only(client: QuartClient) -> None:
    static_id = key_id_for_key(TEST_KEY)
    shown = await client.get(f"/admin/v1/keys/{static_id}", headers=ADMIN)
    assert (await shown.get_json())["source"] == "settings"
    for answer in (
        await client.patch(f"/admin/v1/keys/{static_id}", json={"name": "x"}, headers=ADMIN),
        await client.delete(f"/admin/v1/keys/{static_id}", headers=ADMIN),
    ):
        assert answer.status_code == 409
        assert (await answer.get_json())["error"]["code"] == "static_key"
    assert (await client.get("/v1/models", headers=AUTH)).status_code == 200


async def test_patch_sets_what_is_sent_and_keeps_the_rest(client: QuartClient) -> None:
    created = await create(client, owner="a", budgets={"tokens_per_day": 10, "usd_per_day": 1.0})
    answer = await client.patch(
        f"/admin/v1/keys/{created['id']}",
        json={"owner": None, "budgets": {"tokens_per_day": 20}, "metadata": {"x": [1, "y"]}},
        headers=ADMIN,
    )
    body = await answer.get_json()
    assert answer.status_code == 200
    assert body["owner"] is None and body["name"] == "k" and body["metadata"] == {"x": [1, "y"]}
    assert body["budgets"]["tokens_per_day"] == 20 and body["budgets"]["usd_per_day"] == 1.0
    assert body["updated_at"] >= created["updated_at"]


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/admin/v1/keys/key_000000000000"), ("patch", "/admin/v1/keys/x"),
                         ("delete", "/admin/v1/keys/" + "z" * 300)],
)  # fmt: skip
async def test_an_unknown_key_is_404(client: QuartClient, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"json": {"name": "n"}} if method == "patch" else {}
    answer = await getattr(client, method)(path, headers=ADMIN, **kwargs)
    assert answer.status_code == 404
    assert (await answer.get_json())["error"]["code"] == "key_not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "k", "tier": "platinum"}, "tier"),
        ({"name": "k", "budgets": {"tokens_per_day": -1}}, "budgets.tokens_per_day"),
        ({"name": "k", "budgets": {"tokens": 1}}, "budgets.tokens"),
        ({"name": "k", "metadata": []}, "metadata"),
        ({"name": "k", "metadata": {"a": "x" * 20000}}, "metadata"),
        ({"name": "k", "metadata": {"a\x00": 1}}, "metadata"),
        ({"name": "k", "allowed_models": "mock/*"}, "allowed_models"),
        ({"name": "k", "expires_at": "tomorrow"}, "expires_at"),
        ({"name": "k", "expires_at": "0001-01-01T00:00:00+05:00"}, "expires_at"),
        ({"name": "k", "expires_at": "9999-12-31T23:59:59-05:00"}, "expires_at"),
        ({"name": "k", "id": "key_mine"}, "id"),
    ],
)
async def test_bad_input_is_a_400_and_creates_nothing(
    client: QuartClient, body: dict[str, Any], param: str
) -> None:
    answer = await client.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert answer.status_code == 400
    error = (await answer.get_json())["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param
    listing = await client.get("/admin/v1/keys", query_string={"source": "database"}, headers=ADMIN)
    assert (await listing.get_json())["data"] == []


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "x"}, {"status": "gone"}, {"cursor": "!!"},
              {"cursor": "WyJkIiwibm8iXQ"}, {"unknown": "1"}],
)  # fmt: skip
async def test_a_bad_listing_query_is_a_400(client: QuartClient, query: dict[str, str]) -> None:
    answer = await client.get("/admin/v1/keys", query_string=query, headers=ADMIN)
    assert answer.status_code == 400
    assert (await answer.get_json())["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE api_keys; --",
        "Robert'); DELETE FROM api_keys WHERE ('1'='1",
        '" OR 1=1 --',
        "名前 🔑 ñ Ω \u202e",
        "%_\\*?[]",
        "x" * 200,
    ],
)
async def test_hostile_text_is_stored_and_returned_verbatim(client: QuartClient, text: str) -> None:
    created = await create(
        client, name=text, owner=text, metadata={text: text}, allowed_models=[text]
    )
    shown = await (await client.get(f"/admin/v1/keys/{created['id']}", headers=ADMIN)).get_json()
    assert (shown["name"], shown["owner"], shown["metadata"], shown["allowed_models"]) == (
        text, text, {text: text}, [text],
    )  # fmt: skip
    page = await client.get("/admin/v1/keys", query_string={"name": text}, headers=ADMIN)
    assert [key["id"] for key in (await page.get_json())["data"]] == [created["id"]]
    assert (await client.get("/admin/v1/keys", headers=ADMIN)).status_code == 200


async def test_a_lone_surrogate_is_refused(client: QuartClient) -> None:
    raw = b'{"name": "a\\ud800b"}'
    answer = await client.post(
        "/admin/v1/keys", data=raw, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert answer.status_code == 400


async def test_an_api_key_never_administers(client: QuartClient) -> None:
    created = await create(client)
    for headers in (AUTH, bearer(created["secret"])):
        answer = await client.get("/admin/v1/keys", headers=headers)
        assert answer.status_code == 401
        assert (await answer.get_json())["error"]["code"] == "invalid_admin_key"
    assert (await client.get("/v1/models", headers=ADMIN)).status_code == 401


async def test_a_token_budget_is_the_keys_own_window(client: QuartClient) -> None:
    created = await create(client, budgets={"tokens_per_day": 30})
    body = {"model": "mock-1", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
    headers = bearer(created["secret"])
    first = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert first.status_code == 200
    refused = await client.post("/v1/chat/completions", json=body, headers=headers)
    assert refused.status_code == 429
    error = (await refused.get_json())["error"]
    assert error["code"] == "tokens_limit_exceeded" and "30 tokens per 86400 s" in error["message"]
    await client.patch(
        f"/admin/v1/keys/{created['id']}",
        json={"budgets": {"tokens_per_day": 1000}},
        headers=ADMIN,
    )
    assert (
        await client.post("/v1/chat/completions", json=body, headers=headers)
    ).status_code == 200


async def test_a_keys_tier_is_its_quota_policy(app: Quart, client: QuartClient) -> None:
    created = await create(client, tier="gold", budgets={"tokens_per_month": 500})
    quotas = app.extensions[SERVICES_KEY].quotas
    policy = quotas.policy(created["id"])
    assert policy.concurrent_streams == 3
    assert [(w.count, w.period_seconds) for w in policy.tokens] == [(500, 2_592_000)]
    plain = await create(client)
    assert quotas.policy(plain["id"]).concurrent_streams == 64


async def test_the_secret_is_never_logged(
    client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    created = await create(client)
    await chat(client, created["secret"])
    await client.delete(f"/admin/v1/keys/{created['id']}", headers=ADMIN)
    await chat(client, created["secret"])
    assert caplog.records
    assert created["secret"] not in caplog.text
    assert created["secret"][4:] not in caplog.text


async def test_model_not_allowed_on_embeddings(client: QuartClient) -> None:
    created = await create(client, allowed_models=["ollama/*"])
    refused = await client.post(
        "/v1/embeddings",
        json={"model": "mock/mock-1", "input": "hi"},
        headers=bearer(created["secret"]),
    )
    assert refused.status_code == 403
    assert (await refused.get_json())["error"]["code"] == "model_not_allowed"
    allowed = await create(client, allowed_models=["mock/*"])
    answer = await client.post(
        "/v1/embeddings",
        json={"model": "mock/mock-1", "input": "hi"},
        headers=bearer(allowed["secret"]),
    )
    assert answer.status_code == 200
