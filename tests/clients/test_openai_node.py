"""The official openai Node client (pinned in clients/node/package-lock.json), unmodified, with
`baseURL` set to a real gateway: answers, streams, models, and each error as its own class."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.clients.node import run_node_json
from tests.conftest import AUTH, TEST_KEY
from tests.support.live_server import LiveServer, running_gateway

SCRIPT = "check_openai.mjs"
EXPECTED = "This is a mock reply from quart_llm. You said: Hello there"

# Every chat reserves more than the whole budget (max_tokens=1000), so each attempt is a 429
# with `Retry-After: 1` (the 1 s window's end); four requests an hour make the count exact.
RATE_LIMITED = {
    "limits": {
        "default": {
            "requests": [{"count": 4, "period_seconds": 3600}],
            "tokens": [{"count": 10, "period_seconds": 1}],
        }
    }
}


@pytest.fixture(scope="module")
def results(node: str, server: LiveServer) -> dict[str, Any]:
    """Every default scenario of the script, run once against the module's server."""
    return run_node_json(node, [SCRIPT, server.base_url, TEST_KEY])


def succeeded(results: dict[str, Any], name: str) -> dict[str, Any]:
    outcome = results[name]
    assert outcome["ok"], outcome
    value: dict[str, Any] = outcome["result"]
    return value


def failed(results: dict[str, Any], name: str) -> dict[str, Any]:
    outcome = results[name]
    assert not outcome["ok"], outcome
    error: dict[str, Any] = outcome["error"]
    return error


def test_whole_chat(results: dict[str, Any]) -> None:
    chat = succeeded(results, "chat")
    assert chat["content"] == EXPECTED
    assert chat["finish_reason"] == "stop"
    assert chat["model"] == "mock/mock-1"
    assert chat["usage"]["total_tokens"] > 0
    assert chat["request_id"].startswith("req_")


def test_streamed_chat_with_usage(results: dict[str, Any]) -> None:
    stream = succeeded(results, "stream")
    assert stream["text"] == EXPECTED
    assert stream["finish_reasons"] == ["stop"]
    assert stream["usage"]["total_tokens"] > 0
    assert stream["chunks"] > 3


def test_model_list(results: dict[str, Any]) -> None:
    assert "mock/mock-1" in succeeded(results, "models")["ids"]


def test_wrong_key_is_an_authentication_error(results: dict[str, Any]) -> None:
    error = failed(results, "auth_error")
    assert error["name"] == "AuthenticationError"
    assert "APIError" in error["classes"]
    assert (error["status"], error["code"]) == (401, "invalid_api_key")
    assert error["request_id"].startswith("req_")


def test_unknown_model_is_not_found(results: dict[str, Any]) -> None:
    error = failed(results, "not_found")
    assert error["name"] == "NotFoundError"
    assert (error["status"], error["code"]) == (404, "model_not_found")


def test_failure_before_the_stream_is_an_internal_server_error(results: dict[str, Any]) -> None:
    error = failed(results, "server_error")
    assert error["name"] == "InternalServerError"
    assert error["status"] == 503
    assert "mock-fail-early failed on purpose" in error["message"]


def test_failure_mid_stream_raises_api_error(results: dict[str, Any]) -> None:
    error = failed(results, "midstream_error")
    assert error["name"] == "APIError"
    assert error["status"] is None, "an in-band error has no HTTP status"
    assert error["received"] == "This is a"
    assert "mock-fail-midway failed on purpose" in error["message"]


@pytest.fixture(scope="module")
def limited_server() -> Iterator[LiveServer]:
    with running_gateway(RATE_LIMITED) as live:
        yield live


def test_rate_limit_is_retried_as_told_then_raised(node: str, limited_server: LiveServer) -> None:
    results = run_node_json(node, [SCRIPT, limited_server.base_url, TEST_KEY, "rate_limit"])
    error = failed(results, "rate_limit")
    assert error["name"] == "RateLimitError"
    assert (error["status"], error["code"]) == (429, "tokens_limit_exceeded")
    assert error["retry_after"] == "1"
    assert error["attempts"] == 3, "maxRetries: 2 means three requests"
    assert error["elapsedMs"] >= 1900, "two waits of Retry-After: 1 s (default backoff is ~1 s)"

    url = f"{limited_server.base_url}/v1/models"
    fourth = httpx.get(url, headers=AUTH, timeout=10)
    assert fourth.status_code == 200
    assert fourth.headers["RateLimit-Remaining"] == "0"
    fifth = httpx.get(url, headers=AUTH, timeout=10)
    assert fifth.status_code == 429, "the gateway counted exactly three requests from the client"
    assert fifth.json()["error"]["code"] == "requests_limit_exceeded"
