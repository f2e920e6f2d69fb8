"""Two real gateway processes sharing one real PostgreSQL: a key created through the admin API
of replica B works on replica A, and once revoked on B is refused on A within a second; once
by polling alone, once by Redis pub/sub (with polls too slow to be what makes it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.gateway_process import GatewayProcess, gateway_processes
from tests.support.postgres_server import postgres_database, postgres_url
from tests.support.redis_server import redis_url

__all__ = ["postgres_database", "postgres_url", "redis_url"]
ADMIN = {"Authorization": "Bearer test-admin-key"}
HELLO = {"model": "mock-1", "messages": [{"role": "user", "content": "Hello"}]}
IN_FORCE_WITHIN = 1.0


def chat_status(replica: GatewayProcess, secret: str) -> int:
    answer = httpx.post(
        f"{replica.base_url}/v1/chat/completions",
        json=HELLO,
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    return answer.status_code


def seconds_until(condition: Callable[[], bool], limit: float) -> float:
    """How long `condition` took to hold, checked without pause (fails past `limit`)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, f"not in force within {limit} s"
    return time.monotonic() - started


@pytest.mark.parametrize("notify", ["polling", "redis"])
def test_a_revocation_on_one_replica_is_in_force_on_the_other_within_a_second(
    notify: str, postgres_database: str, request: pytest.FixtureRequest
) -> None:
    settings: dict[str, Any] = {"database_url": postgres_database}
    if notify == "redis":
        settings |= {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_key_prefix": f"test-{uuid.uuid4().hex[:8]}",
            "keys": {"poll_seconds": 30, "safety_poll_seconds": 30, "full_reload_seconds": 60},
        }
    with gateway_processes(2, settings) as (a, b):
        created = httpx.post(
            f"{b.base_url}/admin/v1/keys", json={"name": f"replicas {notify}"}, headers=ADMIN
        )
        assert created.status_code == 201
        secret, key_id = created.json()["secret"], created.json()["id"]
        seconds_until(lambda: chat_status(a, secret) == 200, IN_FORCE_WITHIN)

        revoked = httpx.delete(f"{b.base_url}/admin/v1/keys/{key_id}", headers=ADMIN)
        assert revoked.json()["status"] == "revoked"
        seconds_until(lambda: chat_status(a, secret) == 401, IN_FORCE_WITHIN)
        assert chat_status(b, secret) == 401
        shown = httpx.get(f"{a.base_url}/admin/v1/keys/{key_id}", headers=ADMIN).json()
        assert shown["status"] == "revoked"
