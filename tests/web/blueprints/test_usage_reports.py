"""Usage records through the app: which requests get one and what it says (never content),
and the reports that read them: `GET /admin/v1/usage`, `GET /admin/v1/requests` and the
report `GET /v1/usage` adds, as JSON and CSV, with bad input refused in the OpenAI shape."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from quart.testing import QuartClient

from tests.conftest import AUTH

ADMIN = {"Authorization": "Bearer test-admin-key"}
OTHER = {"Authorization": "Bearer other-key"}
SECRET_WORDS = "the secret plans of the otter"
CHAT = {"model": "mock-1", "messages": [{"role": "user", "content": SECRET_WORDS}]}


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {"api_keys": ["test-key", "other-key"], "usage": {"flush_seconds": 0.05}}


async def records(client: QuartClient, count: int, query: str = "") -> list[dict[str, Any]]:
    """The newest records, once `count` of them are stored."""
    deadline = time.monotonic() + 10
    while True:
        answer = await client.get(f"/admin/v1/requests?limit=1000{query}", headers=ADMIN)
        assert answer.status_code == 200
        data: list[dict[str, Any]] = (await answer.get_json())["data"]
        if len(data) >= count or time.monotonic() > deadline:
            return data
        await asyncio.sleep(0.05)


async def chat(client: QuartClient, headers: dict[str, str], **changes: Any) -> int:
    answer = await client.post("/v1/chat/completions", json=CHAT | changes, headers=headers)
    await answer.get_data()
    return answer.status_code


async def test_each_request_of_an_api_key_has_one_record(client: QuartClient) -> None:
    assert await chat(client, AUTH) == 200
    assert await chat(client, AUTH, stream=True) == 200
    assert await chat(client, AUTH, stream=True, model="mock-fail-midway") == 200
    assert await chat(client, AUTH, model="nowhere/model") == 404
    assert await chat(client, {"Authorization": "Bearer wrong"}) == 401
    for path in ("/v1/models", "/v1/usage"):
        assert (await client.get(path, headers=AUTH)).status_code == 200
    stored = await records(client, 4)
    assert len(stored) == 4
    failed_stream, whole = stored[1], stored[3]
    assert [r["status"] for r in stored] == [404, 200, 200, 200]
    assert stored[0]["outcome"] == "client_error"
    assert stored[0]["error_code"] == "model_not_found"
    assert failed_stream["outcome"] != "ok"
    assert stored[2]["outcome"] == "ok"
    assert stored[2]["ttft_ms"] is not None
    assert whole["route"] == "/v1/chat/completions"
    assert (whole["provider"], whole["model"], whole["alias"]) == ("mock", "mock-1", None)
    assert whole["prompt_tokens"] > 0 and whole["completion_tokens"] > 0
    assert whole["cost_usd"] is None
    assert whole["created_at"].endswith("Z")
    assert len({r["key_id"] for r in stored}) == 1
    assert len({r["record_id"] for r in stored}) == 4
    assert all(SECRET_WORDS not in str(record) for record in stored)


async def test_the_admin_report_groups_sums_and_answers_csv(client: QuartClient) -> None:
    for headers in (AUTH, AUTH, OTHER):
        assert await chat(client, headers) == 200
    assert await chat(client, AUTH, model="nowhere/model") == 404
    stored = await records(client, 4)
    answer = await client.get("/admin/v1/usage?group_by=key", headers=ADMIN)
    assert answer.status_code == 200
    report = await answer.get_json()
    assert report["object"] == "usage_report"
    assert report["group_by"] == "key"
    rows = {row["group"]: row for row in report["rows"]}
    mine = rows[stored[-1]["key_id"]]
    assert (mine["requests"], mine["errors"], mine["unpriced_requests"]) == (3, 1, 3)
    assert mine["cost_usd"] is None
    tokens = sum(r["prompt_tokens"] or 0 for r in stored if r["key_id"] == stored[-1]["key_id"])
    assert mine["prompt_tokens"] == tokens
    assert mine["total_tokens"] == mine["prompt_tokens"] + mine["completion_tokens"]
    assert report["total"]["requests"] == 4
    assert "group" not in report["total"]
    for asked in ({"query_string": {"format": "csv"}}, {"headers": {"Accept": "text/csv"}}):
        headers = ADMIN | asked.get("headers", {})
        answer = await client.get(
            "/admin/v1/usage", query_string=asked.get("query_string", {}), headers=headers
        )
        assert answer.content_type.startswith("text/csv")
        table = list(csv.reader(io.StringIO(await answer.get_data(as_text=True))))
        assert table[0] == [
            "group", "requests", "prompt_tokens", "completion_tokens", "total_tokens",
            "cost_usd", "unpriced_requests", "errors",
        ]  # fmt: skip
        assert table[1][0] == datetime.now(UTC).date().isoformat()
        assert (table[1][1], table[1][5], table[1][7]) == ("4", "", "1")


async def test_a_key_sees_only_its_own_stored_report(client: QuartClient) -> None:
    assert await chat(client, AUTH) == 200
    assert await chat(client, OTHER) == 200
    await records(client, 2)
    answer = await client.get("/v1/usage?group_by=model", headers=OTHER)
    body = await answer.get_json()
    assert body["object"] == "usage"
    assert "windows" in body and "limits" in body
    assert body["report"]["group_by"] == "model"
    assert [(r["group"], r["requests"]) for r in body["report"]["rows"]] == [("mock-1", 1)]
    plain = await (await client.get("/v1/usage", headers=OTHER)).get_json()
    assert "report" not in plain
    answer = await client.get("/v1/usage?format=csv", headers=OTHER)
    assert answer.content_type.startswith("text/csv")
    assert (await answer.get_data(as_text=True)).count("\n") == 2


async def test_the_period_and_key_filter_apply(client: QuartClient) -> None:
    assert await chat(client, AUTH) == 200
    key_id = (await records(client, 1))[0]["key_id"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = {"from": tomorrow, "to": f"{tomorrow}T12:00:00+00:00"}
    report = await (
        await client.get("/admin/v1/usage", query_string=later, headers=ADMIN)
    ).get_json()
    assert (report["rows"], report["total"]["requests"]) == ([], 0)
    assert report["from"] == f"{tomorrow}T00:00:00.000Z"
    for key, expected in ((key_id, 1), ("key_nobody", 0)):
        answer = await client.get(f"/admin/v1/usage?key_id={key}", headers=ADMIN)
        assert (await answer.get_json())["total"]["requests"] == expected
        listed = await client.get(f"/admin/v1/requests?key_id={key}", headers=ADMIN)
        assert len((await listed.get_json())["data"]) == expected


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/admin/v1/usage?from=yesterday", "from"),
        ("/admin/v1/usage?to=2026-13-01", "to"),
        ("/admin/v1/usage?from=2026-12-05&to=2026-12-04", "from"),
        ("/admin/v1/usage?group_by=route", "group_by"),
        ("/admin/v1/usage?format=xml", "format"),
        ("/admin/v1/requests?limit=1001", "limit"),
        ("/admin/v1/requests?limit=many", "limit"),
        ("/v1/usage?group_by=key", "group_by"),
        ("/v1/usage?from=%27%3B%20DROP%20TABLE%20usage_records", "from"),
    ],
)
async def test_bad_queries_are_400s_naming_the_parameter(
    client: QuartClient, path: str, param: str
) -> None:
    headers = AUTH if path.startswith("/v1/") else ADMIN
    answer = await client.get(path, headers=headers)
    assert answer.status_code == 400
    error = (await answer.get_json())["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


@pytest.mark.parametrize("path", ["/admin/v1/usage", "/admin/v1/requests"])
async def test_the_admin_usage_routes_refuse_api_keys(client: QuartClient, path: str) -> None:
    answer = await client.get(path, headers=AUTH)
    assert answer.status_code == 401
    assert (await answer.get_json())["error"]["code"] == "invalid_admin_key"


@pytest.mark.parametrize(
    "query", ["to=0001-01-01", "to=0001-01-01T00:30:00%2B01:00", "from=9999-12-31&to=0001-01-02"]
)
async def test_dates_at_the_edges_of_the_calendar_are_400s_or_empty(
    client: QuartClient, query: str
) -> None:
    answer = await client.get(f"/admin/v1/usage?{query}", headers=ADMIN)
    assert answer.status_code in (200, 400)
    body = await answer.get_json()
    assert body.get("total", {"requests": 0})["requests"] == 0
