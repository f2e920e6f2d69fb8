"""The hooks around every request: the request id, and the record finished exactly once, at
the end of the answer (for a stream, once it has ended and been accounted for)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from quart.testing import QuartClient

from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.observability.request_record import RequestRecord
from tests.conftest import AUTH

HELLO = [{"role": "user", "content": "Hello there"}]
Finished = list[tuple[RequestRecord, str | None, int]]


@pytest.fixture
def finished(monkeypatch: pytest.MonkeyPatch) -> Finished:
    """Each record finished: the record, its outcome and its status at that moment."""
    calls: Finished = []
    original: Callable[..., None] = RequestRecord.finish

    def spy(self: RequestRecord, metrics: GatewayMetrics, ended: float | None = None) -> None:
        calls.append((self, self.outcome, self.status))
        original(self, metrics, ended)

    monkeypatch.setattr(RequestRecord, "finish", spy)
    return calls


async def post(client: QuartClient, body: dict[str, Any], **headers: str) -> Any:
    return await client.post("/v1/chat/completions", json=body, headers={**AUTH, **headers})


async def test_a_whole_answer_is_finished_once_with_its_overhead(
    client: QuartClient, finished: Finished
) -> None:
    response = await post(client, {"model": "mock-1", "messages": HELLO})
    assert response.status_code == 200
    ((noted, outcome, status),) = finished
    assert (noted.route, noted.provider, noted.model, status) == (
        "/v1/chat/completions",
        "mock",
        "mock-1",
        200,
    )
    assert outcome is None, "a whole answer's outcome follows from its status"
    assert float(response.headers["X-Quart-LLM-Overhead-Ms"]) >= 0
    assert noted.gateway_seconds is not None
    assert noted.usage is not None and noted.key_id is not None


async def test_a_stream_is_finished_once_after_it_ended(
    client: QuartClient, finished: Finished
) -> None:
    response = await post(client, {"model": "mock-1", "messages": HELLO, "stream": True})
    body = await response.get_data()
    assert body.endswith(b"data: [DONE]\n\n")
    ((noted, outcome, status),) = finished
    assert (outcome, status) == ("ok", 200), "finished after the stream's own accounting"
    assert noted.streamed and noted.first_chunk_at is not None
    assert "X-Quart-LLM-Overhead-Ms" not in response.headers


async def test_a_refused_request_is_finished_with_its_error(
    client: QuartClient, finished: Finished
) -> None:
    response = await post(client, {"model": "nope/x", "messages": HELLO, "provider": "nope"})
    assert response.status_code == 400
    ((noted, _, status),) = finished
    assert status == 400 and noted.error_code == "unknown_provider"


async def test_an_unknown_route_is_finished_as_unmatched(
    client: QuartClient, finished: Finished
) -> None:
    response = await client.get("/v1/nothing-here", headers=AUTH)
    assert response.status_code == 404
    ((noted, _, status),) = finished
    assert (noted.route, status) == ("unmatched", 404)


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("client-id_1.2:3", True), ("has space", False), ("x" * 129, False), ("", False)],
)
async def test_a_sane_request_id_is_kept_and_any_other_replaced(
    client: QuartClient, finished: Finished, offered: str, kept: bool
) -> None:
    response = await client.get("/v1/health", headers={"X-Request-ID": offered})
    answered = response.headers["X-Request-ID"]
    assert (answered == offered) is kept
    if not kept:
        assert answered.startswith("req_")
    ((noted, _, _),) = finished
    assert noted.request_id == answered


async def test_a_body_that_is_not_json_is_refused_before_it_is_read(
    client: QuartClient, finished: Finished
) -> None:
    response = await client.post(
        "/v1/chat/completions",
        data=b"model=mock-1",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert (await response.get_json())["error"]["code"] == "unsupported_media_type"
    assert len(finished) == 1
