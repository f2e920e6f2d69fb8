"""The stack floor does the per-request work it stands for: a floor that skipped the key check,
the validation or the rate limit would flatter every ratio taken against it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench import bodies
from bench.floor import ROUTE, create_floor_app
from bench.nginx import CHAT_PATH, STREAM_PREFIX, WHOLE_PREFIX

AUTH = {"Authorization": f"Bearer {bodies.API_KEY}"}
JSON = {"Content-Type": "application/json"}


class Upstream:
    """nginx's two answers, served by aiohttp on loopback; counts what reached it."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.base_url = ""

    async def answer(self, request: web.Request) -> web.Response:
        self.seen.append(request.path)
        await request.read()
        if request.path.startswith(STREAM_PREFIX):
            return web.Response(body=bodies.stream_body(), content_type="text/event-stream")
        return web.Response(text=bodies.completion_json(), content_type="application/json")


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    served = Upstream()
    app = web.Application()
    app.router.add_post(WHOLE_PREFIX + CHAT_PATH, served.answer)
    app.router.add_post(STREAM_PREFIX + CHAT_PATH, served.answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    served.base_url = f"http://127.0.0.1:{port}"
    yield served
    await runner.cleanup()


async def test_answers_are_relayed_with_a_request_id_and_a_log_line(
    upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_floor_app(upstream.base_url)
    async with app.test_app():
        client = app.test_client()
        whole = await client.post(
            ROUTE, data=bodies.chat_request("m", stream=False), headers=AUTH | JSON
        )
        streamed = await client.post(
            ROUTE, data=bodies.chat_request("m", stream=True), headers=AUTH | JSON
        )
        assert whole.status_code == 200
        assert await whole.get_data(as_text=True) == bodies.completion_json()
        assert len(whole.headers["X-Request-ID"]) == 32
        assert streamed.status_code == 200
        assert await streamed.get_data(as_text=True) == bodies.stream_body()
    assert upstream.seen == [WHOLE_PREFIX + CHAT_PATH, STREAM_PREFIX + CHAT_PATH]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["status"] for line in lines] == [200, 200]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": bodies.API_KEY}]
)
async def test_a_missing_or_wrong_key_is_refused(
    upstream: Upstream, headers: dict[str, str]
) -> None:
    app = create_floor_app(upstream.base_url)
    async with app.test_app():
        answer = await app.test_client().post(
            ROUTE, data=bodies.chat_request("m", stream=False), headers=headers | JSON
        )
    assert answer.status_code == 401
    assert upstream.seen == []


async def test_an_invalid_body_is_refused_by_schema_validation(upstream: Upstream) -> None:
    app = create_floor_app(upstream.base_url)
    async with app.test_app():
        answer = await app.test_client().post(
            ROUTE, data=json.dumps({"model": "m"}), headers=AUTH | JSON
        )
    assert answer.status_code == 400
    assert upstream.seen == []


async def test_requests_over_the_limit_are_refused(upstream: Upstream) -> None:
    app = create_floor_app(upstream.base_url, limit=2)
    async with app.test_app():
        client = app.test_client()
        statuses = [
            (
                await client.post(
                    ROUTE, data=bodies.chat_request("m", stream=False), headers=AUTH | JSON
                )
            ).status_code
            for _ in range(3)
        ]
    assert statuses == [200, 200, 429]
    assert len(upstream.seen) == 2


async def test_health_needs_no_key(upstream: Upstream) -> None:
    app = create_floor_app(upstream.base_url)
    async with app.test_app():
        answer = await app.test_client().get("/health")
    assert answer.status_code == 200
