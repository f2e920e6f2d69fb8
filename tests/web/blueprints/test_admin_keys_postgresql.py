"""The admin API on PostgreSQL: hostile input stored verbatim or refused with a 400, never a
500 (PostgreSQL refuses NUL in text, which SQLite keeps); while the database is down, 503
`database_unavailable`, the keys held in memory keep working, and it serves again once the
database is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from quart.testing import QuartClient

from quart_llm import create_app
from tests.support.postgres_server import (
    PostgresServer,
    postgres_database,
    postgres_server,
    postgres_url,
)

__all__ = ["postgres_database", "postgres_server", "postgres_url"]
ADMIN = {"Authorization": "Bearer test-admin-key"}
HOSTILE = "'; DROP TABLE api_keys; -- \\ %_ 名前 🔑 \u202e $1 E'\\x00'"


@pytest.fixture
async def pg_client(postgres_database: str) -> AsyncIterator[QuartClient]:
    app = create_app({"database_url": postgres_database})
    async with app.test_app():
        client = app.test_client()
        assert isinstance(client, QuartClient)
        yield client


async def test_hostile_text_round_trips_on_postgresql(pg_client: QuartClient) -> None:
    body = {"name": HOSTILE, "owner": HOSTILE, "metadata": {HOSTILE: [HOSTILE]},
            "allowed_models": [HOSTILE]}  # fmt: skip
    created = await pg_client.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert created.status_code == 201
    key_id = (await created.get_json())["id"]
    shown = await (await pg_client.get(f"/admin/v1/keys/{key_id}", headers=ADMIN)).get_json()
    assert {name: shown[name] for name in body} == body
    listing = await pg_client.get("/admin/v1/keys", query_string={"name": HOSTILE}, headers=ADMIN)
    assert [key["id"] for key in (await listing.get_json())["data"]] == [key_id]


@pytest.mark.parametrize(
    "body",
    [{"name": "a\x00b"}, {"name": "k", "owner": "\x00"}, {"name": "k", "metadata": {"k": "\x00"}},
     {"name": "k", "allowed_models": ["ollama/\x00"]}],
)  # fmt: skip
async def test_nul_is_refused_with_a_400_on_postgresql(
    pg_client: QuartClient, body: dict[str, object]
) -> None:
    answer = await pg_client.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/admin/v1/keys/%00", "/admin/v1/keys/key_%ED%A0%80", "/admin/v1/keys/' OR '1'='1",
     "/admin/v1/keys/key_00000000000%00"],
)  # fmt: skip
async def test_hostile_key_ids_are_404_on_postgresql(pg_client: QuartClient, path: str) -> None:
    for method in ("get", "delete"):
        answer = await getattr(pg_client, method)(path, headers=ADMIN)
        assert answer.status_code == 404
    listing = await pg_client.get(
        "/admin/v1/keys", query_string={"name": "\x00", "owner": "a\x00"}, headers=ADMIN
    )
    assert listing.status_code == 400


async def test_a_database_outage_is_a_503_and_keys_keep_working(
    postgres_server: PostgresServer,
) -> None:
    app = create_app({"database_url": postgres_server.url})
    async with app.test_app():
        client = app.test_client()
        created = await client.post("/admin/v1/keys", json={"name": "before"}, headers=ADMIN)
        secret, key_id = (await created.get_json())["secret"], (await created.get_json())["id"]
        await asyncio.to_thread(postgres_server.stop)
        try:
            for answer in (
                await client.post("/admin/v1/keys", json={"name": "during"}, headers=ADMIN),
                await client.get("/admin/v1/keys", headers=ADMIN),
                await client.get(f"/admin/v1/keys/{key_id}", headers=ADMIN),
                await client.patch(f"/admin/v1/keys/{key_id}", json={"name": "x"}, headers=ADMIN),
                await client.delete(f"/admin/v1/keys/{key_id}", headers=ADMIN),
            ):
                assert answer.status_code == 503
                assert (await answer.get_json())["error"]["code"] == "database_unavailable"
            models = await client.get("/v1/models", headers={"Authorization": f"Bearer {secret}"})
            assert models.status_code == 200
        finally:
            await asyncio.to_thread(postgres_server.start)
        for _ in range(100):
            listing = await client.get("/admin/v1/keys", headers=ADMIN)
            if listing.status_code == 200:
                break
            await asyncio.sleep(0.1)
        assert [key["name"] for key in (await listing.get_json())["data"]][-1] == "before"
