"""Each provider kind through a real gateway: whole and streamed, HTTP/1.1 and HTTP/2, with the
official openai client; what reaches the upstream; and client disconnects."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import AUTH, TEST_KEY
from tests.integration.gateway_with_simulators import (
    TEXT,
    UPSTREAM_KEY,
    Upstreams,
    chat_requests,
    upstream_close_lag,
)

PROVIDERS = ("ollama", "openai", "openrouter")
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_whole_answer(openai_sdk: openai.AsyncOpenAI, provider: str) -> None:
    completion = await openai_sdk.chat.completions.create(
        model=f"{provider}/llama3.2:latest" if provider == "ollama" else f"{provider}/gpt-4o-mini",
        messages=HELLO,
        temperature=0.2,
        max_tokens=50,
    )
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.completion_tokens > 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_streamed_answer(openai_sdk: openai.AsyncOpenAI, provider: str) -> None:
    stream = await openai_sdk.chat.completions.create(
        model=f"{provider}/sim/paced",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    usage = None
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
        usage = chunk.usage or usage
    assert text == TEXT
    assert usage is not None
    assert usage.completion_tokens > 0


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_mid_stream_error_raises_in_the_sdk(
    openai_sdk: openai.AsyncOpenAI, provider: str
) -> None:
    stream = await openai_sdk.chat.completions.create(
        model=f"{provider}/sim/error-mid-stream", messages=HELLO, stream=True
    )

    async def consume() -> None:
        async for _ in stream:
            pass

    with pytest.raises(openai.APIError) as caught:
        await consume()
    assert f"provider '{provider}'" in caught.value.message


@pytest.mark.parametrize(
    ("scenario", "error_class"),
    [
        ("rate-limited", openai.RateLimitError),
        ("unknown-model", openai.NotFoundError),
        ("error-before-stream", openai.InternalServerError),
        ("error-in-200", openai.InternalServerError),
        ("html-500", openai.InternalServerError),
        ("unauthorized", openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_whole_answer_errors(
    openai_sdk: openai.AsyncOpenAI, provider: str, scenario: str, error_class: type[openai.APIError]
) -> None:
    with pytest.raises(error_class) as caught:
        await openai_sdk.chat.completions.create(model=f"{provider}/sim/{scenario}", messages=HELLO)
    assert UPSTREAM_KEY not in str(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_what_reaches_the_upstream(upstreams: Upstreams, provider: str) -> None:
    simulator = upstreams.simulator(provider)
    simulator.clear()
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url) as client:
        response = await client.post(
            "/v1/chat/completions",
            headers={**AUTH, "X-Request-ID": "trace-42"},
            json={
                "model": f"{provider}/gpt-4o-mini",
                "messages": [{"role": "system", "content": "Be brief."}, *HELLO],
                "temperature": 0.5,
                "top_p": 0.9,
                "max_tokens": 64,
                "stop": ["\n\n"],
                "seed": 7,
            },
        )
    assert response.status_code == 200, response.text
    (recorded,) = chat_requests(simulator)
    assert recorded.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert TEST_KEY not in str(recorded.headers)
    assert recorded.json is not None
    sent = recorded.json
    assert isinstance(sent, dict)
    assert sent["model"] == "gpt-4o-mini"
    assert "provider" not in sent
    assert sent["stream"] is False
    assert recorded.headers["x-request-id"] == "trace-42"
    if provider == "ollama":
        assert recorded.path == "/api/chat"
        assert sent["options"] == {
            "temperature": 0.5,
            "top_p": 0.9,
            "num_predict": 64,
            "stop": ["\n\n"],
            "seed": 7,
        }
    else:
        assert recorded.path.endswith("/chat/completions")
        assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (0.5, 0.9, 64)
        assert (sent["stop"], sent["seed"]) == (["\n\n"], 7)
    if provider == "openrouter":
        assert recorded.headers["http-referer"] == "https://example.test"
        assert recorded.headers["x-openrouter-title"] == "quart_llm tests"
    else:
        assert "http-referer" not in recorded.headers


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_client_disconnect_closes_the_upstream_at_once(
    upstreams: Upstreams, provider: str, http2: bool
) -> None:
    body = {"model": f"{provider}/sim/paced", "messages": HELLO}
    lag = await upstream_close_lag(upstreams, provider, "/v1/chat/stream", body, http2=http2)
    assert lag < 1.0, "the upstream request outlived the client (400 tokens take 8 s)"


PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg"
    "=="
)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_images_tools_and_tool_results_pass_through(
    upstreams: Upstreams, provider: str
) -> None:
    simulator = upstreams.simulator(provider)
    simulator.clear()
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Tokyo"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url) as client:
        response = await client.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"model": f"{provider}/gpt-4o-mini", "messages": messages},
        )
    assert response.status_code == 200, response.text
    (recorded,) = chat_requests(simulator)
    sent = recorded.json
    assert isinstance(sent, dict)
    if provider == "ollama":
        assert recorded.images == [PIXEL]
        user, assistant, tool = sent["messages"]
        assert user["content"] == "What is in this image?"
        assert assistant["tool_calls"][0]["function"]["arguments"] == {"city": "Tokyo"}
        assert tool["role"] == "tool"
        assert tool["content"] == "sunny"
    else:
        without_nulls = [{k: v for k, v in m.items() if v is not None} for m in messages]
        assert sent["messages"] == without_nulls


async def test_ollama_refuses_remote_image_urls_before_any_upstream_call(
    upstreams: Upstreams,
) -> None:
    upstreams.ollama.clear()
    message = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}],
    }
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url) as client:
        response = await client.post(
            "/v1/chat/completions",
            headers=AUTH,
            json={"model": "ollama/llama3.2", "messages": [message]},
        )
    assert response.status_code == 400
    assert "data" in response.json()["error"]["message"].lower()
    assert upstreams.ollama.requests == []
