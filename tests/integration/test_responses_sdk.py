"""The official openai client's Responses API, unmodified, against `/v1/responses` through the
mock and the Ollama and OpenAI-compatible simulators: whole and streamed answers, function
call round trips, the output limit, failures before and during a stream, client disconnects,
and the refusal of stored state."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from openai.types.responses import FunctionToolParam, Response, ResponseInputParam

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

WEATHER: list[FunctionToolParam] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather",
        "parameters": WEATHER_TOOL_SCHEMA,
        "strict": False,
    }
]


def expected_text(provider: str) -> str:
    return MOCK_REPLY if provider == "mock" else TEXT


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_whole_response(openai_sdk: openai.AsyncOpenAI, provider: str) -> None:
    response = await openai_sdk.responses.create(
        model=model(provider), input="Hello there", instructions="Be brief.", temperature=0.5
    )
    assert response.id.startswith("resp_")
    assert response.status == "completed"
    assert response.output_text == expected_text(provider)
    assert [item.type for item in response.output] == ["message"]
    assert response.usage is not None
    assert response.usage.output_tokens > 0
    assert response.usage.total_tokens == (
        response.usage.input_tokens + response.usage.output_tokens
    )
    assert (response.instructions, response.temperature) == ("Be brief.", 0.5)
    assert response.to_dict()["store"] is False


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_streamed_response(openai_sdk: openai.AsyncOpenAI, provider: str) -> None:
    async with openai_sdk.responses.stream(
        model=model(provider, "paced"), input="Hello there"
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert kinds.count("response.output_text.delta") > 1
    assert final.output_text == expected_text(provider)
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.output_tokens > 0


async def test_the_output_limit_makes_an_incomplete_response(
    openai_sdk: openai.AsyncOpenAI,
) -> None:
    whole = await openai_sdk.responses.create(
        model="mock/mock-1", input="Hello there", max_output_tokens=3
    )
    assert whole.output_text == "This is a"
    assert whole.status == "incomplete"
    assert whole.incomplete_details is not None
    assert whole.incomplete_details.reason == "max_output_tokens"
    stream = await openai_sdk.responses.create(
        model="mock/mock-1", input="Hello there", max_output_tokens=3, stream=True
    )
    kinds = [event.type async for event in stream]
    assert kinds[-1] == "response.incomplete"
    assert "response.completed" not in kinds


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("provider", SIMULATED)
async def test_function_call_round_trip(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams, provider: str, streamed: bool
) -> None:
    asked: Response
    if streamed:
        async with openai_sdk.responses.stream(
            model=model(provider, "tool-calls"), input="Hello there", tools=WEATHER
        ) as stream:
            asked = await stream.get_final_response()
    else:
        asked = await openai_sdk.responses.create(
            model=model(provider, "tool-calls"), input="Hello there", tools=WEATHER
        )
    (call,) = asked.output
    assert call.type == "function_call"
    assert (call.name, call.arguments) == ("get_weather", '{"city":"Tokyo"}')
    simulator = upstreams.simulator(provider)
    simulator.clear()
    conversation: ResponseInputParam = [
        {"role": "user", "content": "Hello there"},
        *asked.output,  # type: ignore[list-item]
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    answered = await openai_sdk.responses.create(
        model=model(provider), input=conversation, tools=WEATHER
    )
    assert answered.output_text == TEXT
    (recorded,) = chat_requests(simulator)
    sent = recorded.json["messages"]
    assert [message["role"] for message in sent] == ["user", "assistant", "tool"]
    assert sent[2]["content"] == "sunny"
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"
    if provider == "openai":
        assert sent[1]["tool_calls"][0]["id"] == sent[2]["tool_call_id"] == call.call_id


@pytest.mark.parametrize("provider", SIMULATED)
async def test_json_schema_format_reaches_the_upstream(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams, provider: str
) -> None:
    simulator = upstreams.simulator(provider)
    simulator.clear()
    await openai_sdk.responses.create(
        model=model(provider),
        input="Hello there",
        text={"format": {"type": "json_schema", "name": "weather", "schema": WEATHER_TOOL_SCHEMA}},
    )
    (recorded,) = chat_requests(simulator)
    if provider == "ollama":
        assert recorded.json["format"] == WEATHER_TOOL_SCHEMA
    else:
        sent = recorded.json["response_format"]
        assert sent == {
            "type": "json_schema",
            "json_schema": {"name": "weather", "schema": WEATHER_TOOL_SCHEMA},
        }


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_failure_mid_stream_fails_the_response(
    openai_sdk: openai.AsyncOpenAI, provider: str
) -> None:
    chosen = "mock/mock-fail-midway" if provider == "mock" else model(provider, "error-mid-stream")
    async with openai_sdk.responses.stream(model=chosen, input="Hello there") as stream:
        events = [event async for event in stream]
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            await stream.get_final_response()
    kinds = [event.type for event in events]
    assert "response.output_text.delta" in kinds
    assert kinds[-1] == "response.failed"
    assert "response.completed" not in kinds
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.status == "failed"
    assert failed.response.error is not None
    assert f"provider '{provider}'" in failed.response.error.message


@pytest.mark.parametrize(
    ("scenario", "error_class"),
    [
        ("rate-limited", openai.RateLimitError),
        ("unknown-model", openai.NotFoundError),
        ("html-500", openai.InternalServerError),
    ],
)
@pytest.mark.parametrize("provider", SIMULATED)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_upstream_errors_before_the_answer(
    openai_sdk: openai.AsyncOpenAI,
    provider: str,
    scenario: str,
    error_class: type[openai.APIStatusError],
    stream: bool,
) -> None:
    with pytest.raises(error_class) as caught:
        await openai_sdk.responses.create(
            model=model(provider, scenario), input="Hi", stream=stream
        )
    assert caught.value.request_id is not None


@pytest.mark.parametrize(
    ("fields", "param"),
    [({"store": True}, "store"), ({"previous_response_id": "resp_1"}, "previous_response_id")],
)
async def test_stored_state_is_refused_with_its_reason(
    openai_sdk: openai.AsyncOpenAI, fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.responses.create(model="mock/mock-1", input="Hi", **fields)
    assert caught.value.param == param
    assert "stores no responses" in caught.value.message


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
@pytest.mark.parametrize("provider", SIMULATED)
async def test_client_disconnect_closes_the_upstream(
    upstreams: Upstreams, provider: str, http2: bool
) -> None:
    body = {"model": model(provider, "paced"), "input": "Hello there", "stream": True}
    lag = await upstream_close_lag(upstreams, provider, "/v1/responses", body, http2=http2)
    assert lag < 1.0, "the upstream request outlived the client (400 tokens take 8 s)"
