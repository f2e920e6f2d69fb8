"""Every simulator scenario, end to end: client → real gateway → simulated upstream.

Each scenario has one defined answer: a complete stream, a real HTTP error before the first
byte, or (after it) one in-band error event and no `[DONE]`.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import AUTH
from tests.integration.gateway_with_simulators import (
    TEXT,
    UPSTREAM_KEY,
    Upstreams,
)
from tests.support.sse_reader import ParsedStream, parse_sse

PROVIDERS = ("ollama", "openai", "openrouter")

OK = ("ok", None)


def http(status: int) -> tuple[str, int]:
    return ("http", status)


def inband(code: str) -> tuple[str, str]:
    return ("inband", code)


EXPECTED: dict[str, tuple[str, Any]] = {
    "normal": OK,
    "slow-first-token": OK,
    "paced": OK,
    "processing-comments": OK,
    "crlf": OK,
    "split-chunks": OK,
    "tool-calls": OK,
    "thinking": OK,
    "usage-missing": OK,
    "gigantic-chunk": OK,
    "error-before-stream": http(502),
    "html-500": http(502),
    "wrong-content-type": http(502),
    "unknown-model": http(404),
    "unauthorized": http(502),
    "rate-limited": http(429),
    "reset-before-headers": http(502),
    "error-in-200": http(502),
    "error-mid-stream": inband("upstream_stream_error"),
    "malformed-line": inband("upstream_protocol_error"),
    "reset-mid-stream": inband("upstream_protocol_error"),
    "no-terminator": inband("upstream_protocol_error"),
    "hang": inband("upstream_timeout"),
    "hang-mid-stream": inband("upstream_timeout"),
}


async def stream(upstreams: Upstreams, provider: str, scenario: str) -> httpx.Response:
    body = {"model": f"{provider}/sim/{scenario}", "messages": [{"role": "user", "content": "hi"}]}
    if scenario == "tool-calls":
        body["tools"] = [
            {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
        ]
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url, timeout=30) as client:
        response = await client.post("/v1/chat/stream", json=body, headers=AUTH)
        await response.aread()
        return response


def expect_complete(provider: str, scenario: str, parsed: ParsedStream) -> None:
    assert parsed.done, parsed.events[-3:]
    assert parsed.errors == []
    chunks = parsed.chunks
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    finish = [
        c["choices"][0]["finish_reason"]
        for c in chunks[:-1]
        if c["choices"][0].get("finish_reason")
    ]
    assert len(finish) == 1
    if scenario == "tool-calls":
        assert finish == ["tool_calls"]
        calls = [
            call
            for chunk in chunks[:-1]
            for call in chunk["choices"][0]["delta"].get("tool_calls") or []
        ]
        assert calls[0]["function"]["name"] == "get_weather"
        arguments = "".join(call["function"].get("arguments") or "" for call in calls)
        assert arguments.replace(" ", "") == '{"city":"Tokyo"}'
        return
    assert finish == ["stop"]
    if scenario == "gigantic-chunk":
        assert len(parsed.text) >= 4 * 1024 * 1024
        return
    assert parsed.text == TEXT
    if scenario == "thinking":
        reasoning = "".join(
            chunk["choices"][0]["delta"].get("reasoning") or "" for chunk in chunks[:-1]
        )
        assert reasoning == "Let me think."
    if scenario == "usage-missing":
        assert usage.get("estimated") is True
    else:
        assert "estimated" not in usage
    if scenario == "slow-first-token":
        assert "keep-alive" in parsed.comments


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_scenario(upstreams: Upstreams, provider: str, scenario: str) -> None:
    if provider == "ollama" and scenario == "processing-comments":
        pytest.skip("NDJSON has no comments; the Ollama simulator treats it as normal")
    response = await stream(upstreams, provider, scenario)
    kind, detail = EXPECTED[scenario]
    text = response.text
    assert UPSTREAM_KEY not in text
    if kind == "http":
        assert response.status_code == detail, text
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert f"provider '{provider}'" in error["message"]
        if scenario == "rate-limited":
            assert response.headers["Retry-After"] == "7"
        return
    assert response.status_code == 200, text
    parsed = parse_sse(text)
    assert parsed.other_fields == []
    if kind == "ok":
        expect_complete(provider, scenario, parsed)
        return
    assert not parsed.done, "a failed stream never ends with [DONE]"
    assert len(parsed.errors) == 1
    assert "error" in parsed.chunks[-1]
    assert parsed.errors[0]["code"] == detail
    assert f"provider '{provider}'" in parsed.errors[0]["message"]
