"""The Messages and Responses APIs under chat's rules (in-process app): request limits, token
budgets and concurrency slots, the access line and metrics by route, `X-Request-ID`, and bad
input refused in each API's own error shape."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart
from quart.testing import QuartClient

from quart_llm import create_app
from tests.conftest import AUTH

HELLO = [{"role": "user", "content": "Hello there"}]
MESSAGE = {"model": "mock-1", "max_tokens": 32, "messages": HELLO}
RESPONSE = {"model": "mock-1", "input": "Hello there"}
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
}


def anthropic_error_of(answer: dict[str, Any], status: int) -> str:
    """The message of an Anthropic-shaped error, after checking its shape."""
    assert set(answer) == {"type", "error", "request_id"}
    assert answer["type"] == "error"
    assert answer["error"]["type"] == ANTHROPIC_TYPES[status]
    assert set(answer["error"]) == {"type", "message"}
    message: str = answer["error"]["message"]
    return message


def limited_app(**tier: Any) -> Quart:
    return create_app(
        {
            "limits": {"default": tier},
            "metrics": {"public": True},
            "providers": {"mock": {"options": {"tokens_per_second": 40}}},
        }
    )


async def test_request_limits_count_both_apis_and_refuse_in_each_shape() -> None:
    app = limited_app(requests=[{"count": 2, "period_seconds": 3600}])
    async with app.test_app():
        client = app.test_client()
        assert (await client.post("/v1/messages", json=MESSAGE, headers=AUTH)).status_code == 200
        assert (await client.post("/v1/responses", json=RESPONSE, headers=AUTH)).status_code == 200
        message = await client.post("/v1/messages", json=MESSAGE, headers=AUTH)
        response = await client.post("/v1/responses", json=RESPONSE, headers=AUTH)
    assert (message.status_code, response.status_code) == (429, 429)
    assert "2 requests per 3600 s" in anthropic_error_of(await message.get_json(), 429)
    assert int(message.headers["Retry-After"]) > 1000
    assert (await response.get_json())["error"]["code"] == "requests_limit_exceeded"


async def test_token_budgets_reserve_the_output_limit_and_settle_real_usage() -> None:
    app = limited_app(tokens=[{"count": 200, "period_seconds": 3600}], requests=[])
    async with app.test_app():
        client = app.test_client()
        too_much = {**MESSAGE, "max_tokens": 500}
        refused = await client.post("/v1/messages", json=too_much, headers=AUTH)
        assert refused.status_code == 429
        anthropic_error_of(await refused.get_json(), 429)
        big = {**RESPONSE, "max_output_tokens": 500}
        refused = await client.post("/v1/responses", json=big, headers=AUTH)
        assert refused.status_code == 429
        assert (await refused.get_json())["error"]["code"] == "tokens_limit_exceeded"
        message = await (await client.post("/v1/messages", json=MESSAGE, headers=AUTH)).get_json()
        small = {**RESPONSE, "max_output_tokens": 32}
        answer = await (await client.post("/v1/responses", json=small, headers=AUTH)).get_json()
        await asyncio.sleep(0.05)  # settlement runs in the background
        report = await (await client.get("/v1/usage", headers=AUTH)).get_json()
    used = message["usage"]["input_tokens"] + message["usage"]["output_tokens"]
    used += answer["usage"]["total_tokens"]
    assert report["total"]["total_tokens"] == used
    assert report["total"]["requests"] == 2


@pytest.mark.parametrize(("path", "body"), [("/v1/messages", MESSAGE), ("/v1/responses", RESPONSE)])
async def test_concurrency_slots_hold_streams_of_both_apis(path: str, body: Any) -> None:
    app = limited_app(concurrent_streams=2, requests=[])
    streamed = {**body, "stream": True}
    async with app.test_app():
        client = app.test_client()
        results = await asyncio.gather(
            *(client.post(path, json=streamed, headers=AUTH) for _ in range(4))
        )
        assert sorted(r.status_code for r in results) == [200, 200, 429, 429]
        refused = await next(r for r in results if r.status_code == 429).get_json()
        if path == "/v1/messages":
            assert "Concurrency limit" in anthropic_error_of(refused, 429)
        else:
            assert refused["error"]["code"] == "concurrency_limit_exceeded"
        await asyncio.sleep(0.1)
        again = await client.post(path, json=streamed, headers=AUTH)
        assert again.status_code == 200, "slots were freed when the streams ended"


async def test_access_lines_metrics_and_request_ids(caplog: pytest.LogCaptureFixture) -> None:
    app = limited_app()
    headers = {**AUTH, "X-Request-ID": "trace-17"}
    async with app.test_app():
        client = app.test_client()
        with caplog.at_level(logging.INFO, logger="quart_llm.access"):
            whole = await client.post("/v1/messages", json=MESSAGE, headers=headers)
            streamed = await client.post(
                "/v1/responses", json={**RESPONSE, "stream": True}, headers=headers
            )
            await streamed.get_data()
            for _ in range(50):
                if len(caplog.records) >= 2:
                    break
                await asyncio.sleep(0.01)
        scraped = await (await client.get("/metrics")).get_data(as_text=True)
    assert whole.headers["X-Request-ID"] == whole.headers["request-id"] == "trace-17"
    assert streamed.headers["X-Request-ID"] == "trace-17"
    assert "request-id" not in streamed.headers
    lines = {
        getattr(record, "http.route"): record.__dict__
        for record in caplog.records
        if getattr(record, "http.route") != "/metrics"
    }
    assert set(lines) == {"/v1/messages", "/v1/responses"}
    for line in lines.values():
        assert line["quart_llm.request_id"] == "trace-17"
        assert line["quart_llm.outcome"] == "ok"
        assert line["gen_ai.usage.output_tokens"] > 0
        assert line["gen_ai.request.model"] == "mock-1"
    assert lines["/v1/responses"]["quart_llm.streamed"]
    counted = {
        sample.labels["route"]
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "quart_llm_requests_total"
    }
    assert counted == {"/v1/messages", "/v1/responses"}


async def test_an_in_band_error_carries_the_request_id(client: QuartClient) -> None:
    headers = {**AUTH, "X-Request-ID": "trace-18"}
    body = {**MESSAGE, "model": "mock-fail-midway", "stream": True}
    response = await client.post("/v1/messages", json=body, headers=headers)
    answer = await response.get_data(as_text=True)
    assert answer.endswith("\n\n")
    last = answer.rstrip("\n").split("\n\n")[-1]
    assert last.startswith("event: error\ndata: ")
    assert '"request_id":"trace-18"' in last
    assert "message_stop" not in answer


@pytest.mark.parametrize(
    ("body", "param_in_message"),
    [
        ({"model": "mock-1", "messages": HELLO}, "max_tokens"),
        ({**MESSAGE, "thinking": {"type": "enabled", "budget_tokens": 1024}}, "thinking"),
        ({**MESSAGE, "temperature": 1.5}, "temperature"),
        ({**MESSAGE, "messages": [{"role": "user", "content": [{"type": "tool_use"}]}]}, "id"),
        ({**MESSAGE, "tool_choice": {"type": "any"}}, "tool_choice needs tools"),
        ({**MESSAGE, "stop_sequences": ["a", "b", "c", "d", "e"]}, "stop_sequences"),
    ],
)
async def test_bad_messages_are_anthropic_400s(
    client: QuartClient, body: dict[str, Any], param_in_message: str
) -> None:
    refused = await client.post("/v1/messages", json=body, headers=AUTH)
    assert refused.status_code == 400
    assert param_in_message in anthropic_error_of(await refused.get_json(), 400)


async def test_broken_bodies_on_the_messages_routes_are_anthropic_errors(
    client: QuartClient,
) -> None:
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        broken = await client.post(
            path, data=b"{", headers={**AUTH, "Content-Type": "application/json"}
        )
        assert broken.status_code == 400
        anthropic_error_of(await broken.get_json(), 400)
        assert broken.headers["request-id"] == broken.headers["X-Request-ID"]
    unknown = await client.post("/v1/nothing", json=MESSAGE, headers=AUTH)
    assert (await unknown.get_json())["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "mock-1"}, "input"),
        ({**RESPONSE, "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({**RESPONSE, "max_output_tokens": 0}, "max_output_tokens"),
        ({**RESPONSE, "previous_response_id": "resp_1"}, "previous_response_id"),
        ({**RESPONSE, "store": True}, "store"),
        (
            {
                **RESPONSE,
                "input": [
                    {"role": "system", "content": [{"type": "input_image", "image_url": "x"}]}
                ],
            },
            "input",
        ),
    ],
)
async def test_bad_responses_are_openai_400s(
    client: QuartClient, body: dict[str, Any], param: str
) -> None:
    refused = await client.post("/v1/responses", json=body, headers=AUTH)
    assert refused.status_code == 400
    error = (await refused.get_json())["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
