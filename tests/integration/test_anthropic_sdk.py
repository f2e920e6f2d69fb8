"""The official anthropic client, unmodified, against `/v1/messages` through the mock and the
Ollama and OpenAI-compatible simulators: whole and streamed answers, tool use round trips,
count_tokens, failures before and during a stream, client disconnects, Anthropic's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, ToolParam

from tests.conftest import AUTH, TEST_KEY
from tests.integration.gateway_with_simulators import (
    TEXT,
    Upstreams,
    chat_requests,
    upstream_close_lag,
)
from tests.integration.translated_apis import (
    MOCK_REPLY,
    PROVIDERS,
    SIMULATED,
    WEATHER_TOOL_SCHEMA,
    model,
)

HELLO: list[MessageParam] = [{"role": "user", "content": "Hello there"}]
WEATHER: list[ToolParam] = [
    {"name": "get_weather", "description": "The weather", "input_schema": WEATHER_TOOL_SCHEMA}
]


@pytest.fixture(params=["http1", "http2"])
async def sdk(
    request: pytest.FixtureRequest, upstreams: Upstreams
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    http2 = request.param == "http2"
    async with anthropic.AsyncAnthropic(
        base_url=upstreams.gateway.base_url,
        api_key=TEST_KEY,
        http_client=anthropic.DefaultAsyncHttpxClient(http1=not http2, http2=http2, timeout=30),
        max_retries=0,
    ) as client:
        yield client


def expected_text(provider: str) -> str:
    return MOCK_REPLY if provider == "mock" else TEXT


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_whole_message(sdk: anthropic.AsyncAnthropic, provider: str) -> None:
    raw = await sdk.messages.with_raw_response.create(
        model=model(provider), max_tokens=64, messages=HELLO
    )
    message = await raw.parse()
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.role == "assistant"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == expected_text(provider)  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0
    assert raw.request_id is not None
    assert raw.headers["x-request-id"] == raw.request_id


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_streamed_message(sdk: anthropic.AsyncAnthropic, provider: str) -> None:
    chosen = model(provider, "paced")
    async with sdk.messages.stream(model=chosen, max_tokens=64, messages=HELLO) as stream:
        pieces = [text async for text in stream.text_stream]
        message = await stream.get_final_message()
    assert len(pieces) > 1
    assert "".join(pieces) == expected_text(provider)
    assert message.content[0].text == expected_text(provider)  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0


async def test_max_tokens_is_the_output_limit(sdk: anthropic.AsyncAnthropic) -> None:
    message = await sdk.messages.create(model="mock/mock-1", max_tokens=3, messages=HELLO)
    assert message.content[0].text == "This is a"  # type: ignore[union-attr]
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3


@pytest.mark.parametrize("provider", SIMULATED)
async def test_tool_use_round_trip(
    sdk: anthropic.AsyncAnthropic, upstreams: Upstreams, provider: str
) -> None:
    asked = await sdk.messages.create(
        model=model(provider, "tool-calls"), max_tokens=64, messages=HELLO, tools=WEATHER
    )
    assert asked.stop_reason == "tool_use"
    (call,) = [block for block in asked.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", {"city": "Tokyo"})
    simulator = upstreams.simulator(provider)
    simulator.clear()
    answered = await sdk.messages.create(
        model=model(provider),
        max_tokens=64,
        tools=WEATHER,
        messages=[
            *HELLO,
            {"role": "assistant", "content": asked.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ],
    )
    assert answered.content[0].text == TEXT  # type: ignore[union-attr]
    (recorded,) = chat_requests(simulator)
    sent = recorded.json["messages"]
    assert [message["role"] for message in sent] == ["user", "assistant", "tool"]
    assert sent[2]["content"] == "sunny"
    called = sent[1]["tool_calls"][0]["function"]
    assert called["name"] == "get_weather"
    if provider == "openai":
        assert sent[2]["tool_call_id"] == call.id
        assert sent[1]["tool_calls"][0]["id"] == call.id


@pytest.mark.parametrize("provider", SIMULATED)
async def test_streamed_tool_use(sdk: anthropic.AsyncAnthropic, provider: str) -> None:
    async with sdk.messages.stream(
        model=model(provider, "tool-calls"), max_tokens=64, messages=HELLO, tools=WEATHER
    ) as stream:
        message = await stream.get_final_message()
    (call,) = message.content
    assert call.type == "tool_use"
    assert (call.name, call.input) == ("get_weather", {"city": "Tokyo"})
    assert message.stop_reason == "tool_use"


async def test_the_mock_refuses_tools_in_anthropics_shape(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        await sdk.messages.create(model="mock/mock-1", max_tokens=64, messages=HELLO, tools=WEATHER)
    assert caught.value.type == "invalid_request_error"
    assert "does not support `tools`" in str(caught.value.api_message)


async def test_count_tokens_is_the_gateways_estimate(sdk: anthropic.AsyncAnthropic) -> None:
    counted = await sdk.messages.count_tokens(model="mock/mock-1", messages=HELLO)
    message = await sdk.messages.create(model="mock/mock-1", max_tokens=64, messages=HELLO)
    assert counted.input_tokens == message.usage.input_tokens  # the mock reports the estimate
    longer = await sdk.messages.count_tokens(
        model="mock/mock-1", system="Be brief. " * 40, messages=HELLO
    )
    assert longer.input_tokens > counted.input_tokens + 50


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_failure_mid_stream_raises_and_never_stops_cleanly(
    sdk: anthropic.AsyncAnthropic, provider: str
) -> None:
    chosen = "mock/mock-fail-midway" if provider == "mock" else model(provider, "error-mid-stream")
    seen: list[str] = []

    async def consume() -> None:
        async with sdk.messages.stream(model=chosen, max_tokens=64, messages=HELLO) as stream:
            async for event in stream:
                seen.append(event.type)

    with pytest.raises(anthropic.APIStatusError) as caught:
        await consume()
    assert caught.value.type == "api_error"
    assert f"provider '{provider}'" in str(caught.value.api_message)
    assert seen[0] == "message_start"
    assert "content_block_delta" in seen
    assert "message_stop" not in seen
    assert "message_delta" not in seen


@pytest.mark.parametrize(
    ("scenario", "error_class", "error_type"),
    [
        ("rate-limited", anthropic.RateLimitError, "rate_limit_error"),
        ("unknown-model", anthropic.NotFoundError, "not_found_error"),
        ("html-500", anthropic.InternalServerError, "api_error"),
    ],
)
@pytest.mark.parametrize("provider", SIMULATED)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_upstream_errors_are_anthropics(
    sdk: anthropic.AsyncAnthropic,
    provider: str,
    scenario: str,
    error_class: type[anthropic.APIStatusError],
    error_type: str,
    stream: bool,
) -> None:
    with pytest.raises(error_class) as caught:
        await sdk.messages.create(
            model=model(provider, scenario), max_tokens=64, messages=HELLO, stream=stream
        )
    assert caught.value.type == error_type
    assert caught.value.request_id is not None


async def test_overload_is_529(sdk: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.OverloadedError) as caught:
        await sdk.messages.create(model="mock/mock-fail-early", max_tokens=64, messages=HELLO)
    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
@pytest.mark.parametrize("provider", SIMULATED)
async def test_client_disconnect_closes_the_upstream(
    upstreams: Upstreams, provider: str, http2: bool
) -> None:
    body: dict[str, Any] = {
        "model": model(provider, "paced"),
        "max_tokens": 1000,
        "stream": True,
        "messages": HELLO,
    }
    lag = await upstream_close_lag(upstreams, provider, "/v1/messages", body, http2=http2)
    assert lag < 1.0, "the upstream request outlived the client (400 tokens take 8 s)"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"x-api-key": TEST_KEY, "anthropic-version": "2023-06-01"}, 200),
        (AUTH, 200),
        ({"x-api-key": "wrong"}, 401),
        ({}, 401),
    ],
)
async def test_keys_by_x_api_key_or_bearer(
    upstreams: Upstreams, headers: dict[str, str], status: int
) -> None:
    body = {"model": "mock/mock-1", "max_tokens": 16, "messages": HELLO}
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url) as client:
        response = await client.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == status
    if status == 401:
        refusal = response.json()
        assert refusal == {
            "type": "error",
            "error": {"type": "authentication_error", "message": refusal["error"]["message"]},
            "request_id": response.headers["request-id"],
        }
        assert "wrong" not in response.text
