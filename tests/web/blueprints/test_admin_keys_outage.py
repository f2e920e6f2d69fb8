"""The admin API while its database is down: 503 `database_unavailable`, never a 500; the keys
held in memory keep working; it serves again once the database is back."""

from __future__ import annotations

import asyncio

from quart_llm import create_app
from tests.support.postgres_server import PostgresServer, postgres_server

__all__ = ["postgres_server"]
ADMIN = {"Authorization": "Bearer test-admin-key"}


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
