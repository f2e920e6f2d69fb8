from __future__ import annotations

import asyncio

from quart.testing import QuartClient

from quart_llm.errors import ServiceUnavailable
from quart_llm.services.draining import Drainer
from quart_llm.web.context import current_services
from tests.conftest import AUTH


async def test_draining_health_is_503_and_new_work_is_refused(client: QuartClient) -> None:
    async with client.app.app_context():
        current_services().drainer.draining = True
    health = await client.get("/v1/health")
    assert health.status_code == 503
    assert (await health.get_json())["error"]["code"] == "server_shutting_down"
    refused = await client.post(
        "/v1/chat/completions",
        json={"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]},
        headers=AUTH,
    )
    assert refused.status_code == 503
    error = (await refused.get_json())["error"]
    assert error["code"] == "server_shutting_down"
    assert refused.headers["Retry-After"] == "1"


async def test_drain_returns_at_once_when_idle() -> None:
    drainer = Drainer()
    await asyncio.wait_for(drainer.drain(30), 1)
    assert drainer.draining
    assert not drainer.forced


async def test_drain_cancels_whole_answers_after_the_grace_period() -> None:
    drainer = Drainer()
    waiting = asyncio.create_task(asyncio.sleep(30))
    drainer.add_answer(waiting)
    await drainer.drain(0.05)
    assert drainer.forced
    await asyncio.sleep(0)
    assert waiting.cancelled() or waiting.cancelling()
    assert isinstance(ServiceUnavailable("x"), ServiceUnavailable)
