"""Two real gateway processes sharing one real PostgreSQL: a key created through the admin API
of replica B works on replica A, and once revoked on B is refused on A within a second; once
by polling alone, once by Redis pub/sub (with polls too slow to be what makes it)."""

from __future__ import annotations

import asyncio
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


async def test_a_keys_token_budget_is_exact_across_replicas(
    postgres_database: str, redis_url: str
) -> None:
    """Twelve requests at once over two replicas sharing Redis, each reserving 16 tokens (a
    prompt estimate of 6 and max_tokens 10) against the key's 64 tokens a day: exactly four
    are admitted. The mock answers after a second, so every reservation is made before any
    settles."""
    settings: dict[str, Any] = {
        "database_url": postgres_database,
        "redis_url": redis_url,
        "redis_key_prefix": f"test-{uuid.uuid4().hex[:8]}",
        "limits": {"default": {"requests": [], "concurrent_streams": 0}},
        "providers": {"mock": {"kind": "mock", "options": {"first_token_delay_seconds": 1.0}}},
    }
    body = {**HELLO, "max_tokens": 10}
    with gateway_processes(2, settings) as replicas:
        created = httpx.post(
            f"{replicas[1].base_url}/admin/v1/keys",
            json={"name": "budget", "budgets": {"tokens_per_day": 64}},
            headers=ADMIN,
        ).json()
        headers = {"Authorization": f"Bearer {created['secret']}"}
        models = f"{replicas[0].base_url}/v1/models"
        seconds_until(lambda: httpx.get(models, headers=headers).status_code == 200, 1.0)
        left_today = 86_400 - time.time() % 86_400
        if left_today < 30:
            await asyncio.sleep(left_today + 0.1)  # every reservation in one day's window
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{replicas[n % 2].base_url}/v1/chat/completions",
                        json=body,
                        headers=headers,
                    )
                    for n in range(12)
                )
            )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 4 + [429] * 8
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json()["error"]["code"] == "tokens_limit_exceeded"
