"""Clients that behave badly on purpose: every one of them is answered, recorded and bounded.

An abandoned whole request is cancelled upstream, charged its prompt and logged `client_gone`;
no client-controlled value can forge a log line; failed authentications from one address turn
into 429s; the errors the HTTP server answers itself are JSON too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from quart.testing import QuartClient

from quart_llm.observability.logs import ConsoleFormatter, JSONFormatter
from tests.conftest import AUTH, TEST_KEY
from tests.support.gateway_process import GatewayProcess
from tests.support.live_server import running_gateway
from tests.support.log_capture import records_of

HELLO = [{"role": "user", "content": "Tell me everything you know"}]


@pytest.fixture
def access_records() -> Iterator[list[logging.LogRecord]]:
    with records_of("quart_llm.access") as handler:
        yield handler.records


async def test_an_abandoned_whole_request_is_charged_logged_and_counted(
    access_records: list[logging.LogRecord],
) -> None:
    overrides = {
        "metrics": {"public": True},
        "providers": {"mock": {"options": {"first_token_delay_seconds": 3.0}}},
    }
    with running_gateway(overrides) as live:
        async with httpx.AsyncClient(base_url=live.base_url, headers=AUTH) as client:
            body = {"model": "mock-1", "messages": HELLO}
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/v1/chat/completions", json=body, timeout=0.5)
            for _ in range(100):  # the server notices the hang-up and cancels the answer
                outcomes = [r.__dict__.get("quart_llm.outcome") for r in access_records]
                if "client_gone" in outcomes:
                    break
                await asyncio.sleep(0.05)
            usage = (await client.get("/v1/usage")).json()["total"]
            metrics = (await client.get("/metrics")).text
    (gone,) = [r for r in access_records if r.__dict__.get("quart_llm.outcome") == "client_gone"]
    fields = gone.__dict__
    assert fields["http.response.status_code"] == 499
    assert fields["http.route"] == "/v1/chat/completions"
    assert fields["gen_ai.usage.input_tokens"] > 0 and fields["quart_llm.usage.estimated"]
    assert fields["quart_llm.duration_ms"] < 3000, "the upstream wait was cut short"
    assert usage["requests"] == 1 and usage["estimated_requests"] == 1
    assert usage["prompt_tokens"] == fields["gen_ai.usage.input_tokens"]
    assert usage["completion_tokens"] == 0
    assert 'status="499"' in metrics


def forging_record(path: str, user_agent: str) -> logging.LogRecord:
    record = logging.LogRecord("quart_llm.access", logging.INFO, __file__, 1, "%s", (path,), None)
    record.path = path
    record.user_agent = user_agent
    return record


@pytest.mark.parametrize("formatter", [JSONFormatter(), ConsoleFormatter()])
def test_no_client_value_can_break_a_log_line(formatter: logging.Formatter) -> None:
    forged = "/v1/health\n2026-12-05 INFO quart_llm.access: GET /admin 200 ok\r\u2028"
    line = formatter.format(forging_record(forged, "curl\x1b[31m\x00\x85"))
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    assert "\x1b" not in line and "\x00" not in line and "\x85" not in line
    if isinstance(formatter, JSONFormatter):
        assert json.loads(line)["path"] == forged


def test_a_forged_path_and_user_agent_stay_inside_one_access_line() -> None:
    """Served as users serve it: the only access line is the gateway's, and it escapes what
    Hypercorn decoded from the path (`%0a`, `%1b`)."""
    gateway = GatewayProcess({"api_keys": [TEST_KEY]})
    gateway.start()
    try:
        gateway.wait_ready()
        forged = 'x\x1b[2J 200 ok\n{"scope":"quart_llm.access","url.path":"/forged"}'
        encoded = forged.replace("\n", "%0a").replace('"', "%22").replace("\x1b", "%1b")
        with httpx.Client(base_url=gateway.base_url) as client:
            client.get("/v1/health/" + encoded, headers={"User-Agent": "evil/1.0 (x)"})
        gateway.stop()  # the log lines are written in batches: all are out once it has exited
        output = gateway.output()
    finally:
        gateway.close()
    assert "\x1b" not in output
    lines = [line for line in output.splitlines() if "forged" in line]
    assert len(lines) == 1, "one access line, and no other line carries the forged text"
    entry = json.loads(lines[0])
    assert entry["scope"] == "quart_llm.access" and entry["http.response.status_code"] == 404
    assert entry["url.path"].endswith(forged)
    assert entry["user_agent.original"] == "evil/1.0 (x)"


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {"limits": {"failed_authentications": [{"count": 3, "period_seconds": 3600}]}}


async def test_failed_authentications_from_one_address_are_throttled(client: QuartClient) -> None:
    wrong = {"Authorization": "Bearer not-a-key"}
    statuses = [(await client.get("/v1/models", headers=wrong)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    refused = await client.get("/v1/models", headers=wrong)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await refused.get_json())["error"]["code"] == "too_many_failed_authentications"
    assert (await client.get("/v1/models", headers={})).status_code == 429
    # A valid key is never held back, whatever its address did.
    assert (await client.get("/v1/models", headers=AUTH)).status_code == 200


async def raw_exchange(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
            431,
            "request_headers_too_large",
        ),
        (b"NOT HTTP AT ALL\r\n\r\n", 400, "invalid_http_request"),
    ],
)
async def test_errors_the_server_answers_itself_are_json(
    request_bytes: bytes, status: int, code: str
) -> None:
    with running_gateway() as live:
        answer = await raw_exchange(live.port, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status)
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"]["code"] == code
