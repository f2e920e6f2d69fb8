"""The chat routes on the mock provider, through the Quart test client."""

from __future__ import annotations

from typing import Any

import pytest
from quart.testing import QuartClient

from tests.conftest import AUTH
from tests.support.sse_reader import ParsedStream, parse_sse

HELLO = [{"role": "user", "content": "Hello there"}]
EXPECTED = "This is a mock reply from quart_llm. You said: Hello there"


async def post(client: QuartClient, path: str, body: dict[str, Any]) -> Any:
    return await client.post(path, json=body, headers=AUTH)


async def stream_of(client: QuartClient, path: str, body: dict[str, Any]) -> ParsedStream:
    response = await post(client, path, body)
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"].startswith("no-cache")
    assert response.headers["X-Accel-Buffering"] == "no"
    for hop_by_hop in ("Connection", "Transfer-Encoding", "Keep-Alive"):
        assert hop_by_hop not in response.headers
    return parse_sse(await response.get_data(as_text=True))


async def test_whole_completion(client: QuartClient) -> None:
    response = await post(client, "/v1/chat/completions", {"model": "mock-1", "messages": HELLO})
    assert response.status_code == 200
    body = await response.get_json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "mock/mock-1"
    assert body["provider"] == "mock"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": EXPECTED}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["completion_tokens"] == len(EXPECTED.split(" "))
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    assert response.headers["X-Quart-LLM-Provider"] == "mock"


async def test_streamed_completion_without_usage(client: QuartClient) -> None:
    stream = await stream_of(
        client, "/v1/chat/completions", {"model": "mock-1", "messages": HELLO, "stream": True}
    )
    assert stream.done
    assert stream.other_fields == [], "no id:, event: or retry: lines"
    assert stream.text == EXPECTED
    chunks = stream.chunks
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert {chunk["id"] for chunk in chunks} == {chunks[0]["id"]}
    assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in chunk for chunk in chunks)


async def test_streamed_completion_with_usage(client: QuartClient) -> None:
    body = {
        "model": "mock-1",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stream = await stream_of(client, "/v1/chat/completions", body)
    usage_chunk = stream.chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == len(EXPECTED.split(" "))
    assert stream.done


async def test_chat_stream_always_streams_with_usage(client: QuartClient) -> None:
    stream = await stream_of(
        client, "/v1/chat/stream", {"model": "mock-1", "messages": HELLO, "stream": False}
    )
    assert stream.text == EXPECTED
    assert stream.chunks[-1]["usage"]["prompt_tokens"] > 0
    assert stream.done


async def test_max_tokens_truncates_with_length(client: QuartClient) -> None:
    response = await post(
        client, "/v1/chat/completions", {"model": "mock-1", "messages": HELLO, "max_tokens": 3}
    )
    body = await response.get_json()
    assert body["choices"][0]["message"]["content"] == "This is a"
    assert body["choices"][0]["finish_reason"] == "length"


@pytest.mark.parametrize(
    "body",
    [
        {"model": "mock/mock-1"},
        {"model": "mock-1", "provider": "mock"},
        {"model": "mock/mock-1", "provider": "mock"},
        {"model": "mock-1"},
    ],
)
async def test_routing(client: QuartClient, body: dict[str, Any]) -> None:
    response = await post(client, "/v1/chat/completions", {**body, "messages": HELLO})
    assert response.status_code == 200
    assert (await response.get_json())["model"] == "mock/mock-1"


async def test_unknown_provider_lists_the_configured_ones(client: QuartClient) -> None:
    response = await post(
        client, "/v1/chat/completions", {"model": "x", "provider": "nope", "messages": HELLO}
    )
    assert response.status_code == 400
    error = (await response.get_json())["error"]
    assert error["param"] == "provider"
    assert "mock" in error["message"]


async def test_unknown_model_is_404(client: QuartClient) -> None:
    for stream in (False, True):
        response = await post(
            client,
            "/v1/chat/completions",
            {"model": "mock/nope", "messages": HELLO, "stream": stream},
        )
        assert response.status_code == 404
        error = (await response.get_json())["error"]
        assert error["code"] == "model_not_found"
        assert "'mock'" in error["message"]


async def test_failure_before_the_first_chunk_is_an_http_error(client: QuartClient) -> None:
    response = await post(
        client,
        "/v1/chat/completions",
        {"model": "mock-fail-early", "messages": HELLO, "stream": True},
    )
    assert response.status_code == 503
    assert response.content_type == "application/json"
    assert (await response.get_json())["error"]["type"] == "upstream_error"


async def test_failure_mid_stream_is_one_error_event_and_no_done(client: QuartClient) -> None:
    stream = await stream_of(
        client, "/v1/chat/stream", {"model": "mock-fail-midway", "messages": HELLO}
    )
    assert not stream.done
    assert stream.text == "This is a"
    assert len(stream.errors) == 1
    assert stream.errors[0]["code"] == "upstream_protocol_error"
    assert "request_id" in stream.errors[0]
    assert "[DONE]" not in stream.events


async def test_unsupported_feature_is_a_clear_400(client: QuartClient) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    response = await post(
        client, "/v1/chat/completions", {"model": "mock-1", "messages": HELLO, "tools": tools}
    )
    assert response.status_code == 400
    error = (await response.get_json())["error"]
    assert error["code"] == "unsupported_parameter"
    assert error["param"] == "tools"
