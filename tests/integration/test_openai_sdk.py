"""The official openai client, unmodified, against a real server on the mock provider."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.conftest import TEST_KEY
from tests.support.live_server import LiveServer, running_gateway

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hello there"}]
EXPECTED = "This is a mock reply from quart_llm. You said: Hello there"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with running_gateway() as live:
        yield live


def sdk_client(server: LiveServer, *, http2: bool, key: str = TEST_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"{server.base_url}/v1",
        api_key=key,
        http_client=openai.DefaultAsyncHttpxClient(http1=not http2, http2=http2, timeout=30),
        max_retries=0,
    )


@pytest.fixture(params=["http1", "http2"])
async def sdk(
    request: pytest.FixtureRequest, server: LiveServer
) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk_client(server, http2=request.param == "http2") as client:
        yield client


async def test_whole_chat(sdk: openai.AsyncOpenAI, request: pytest.FixtureRequest) -> None:
    raw = await sdk.chat.completions.with_raw_response.create(model="mock/mock-1", messages=HELLO)
    expected_version = "HTTP/2" if "http2" in request.node.callspec.id else "HTTP/1.1"
    assert raw.http_response.http_version == expected_version
    completion = raw.parse()
    assert completion.choices[0].message.content == EXPECTED
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    assert completion.model == "mock/mock-1"


async def test_streamed_chat_with_usage(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="mock/mock-1", messages=HELLO, stream=True, stream_options={"include_usage": True}
    )
    text = ""
    finish_reasons: list[str] = []
    usage_seen = False
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
        usage_seen = usage_seen or chunk.usage is not None
    assert text == EXPECTED
    assert finish_reasons == ["stop"]
    assert usage_seen


async def test_model_list(sdk: openai.AsyncOpenAI) -> None:
    models = [model.id async for model in sdk.models.list()]
    assert "mock/mock-1" in models


async def test_wrong_key_raises_authentication_error(server: LiveServer) -> None:
    async with sdk_client(server, http2=False, key="wrong") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.chat.completions.create(model="mock/mock-1", messages=HELLO)
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.request_id is not None


async def test_unknown_model_raises_not_found(sdk: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await sdk.chat.completions.create(model="mock/nope", messages=HELLO)
    assert caught.value.code == "model_not_found"


async def test_bad_request_raises_bad_request_error(sdk: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.chat.completions.create(model="mock/mock-1", messages=HELLO, temperature=9)
    assert caught.value.param == "temperature"


async def test_upstream_failure_before_the_stream_raises_a_server_error(
    sdk: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        await sdk.chat.completions.create(model="mock/mock-fail-early", messages=HELLO, stream=True)
    assert caught.value.status_code == 503


async def test_failure_mid_stream_raises_api_error(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="mock/mock-fail-midway", messages=HELLO, stream=True
    )
    received = ""

    async def consume() -> None:
        nonlocal received
        async for chunk in stream:
            for choice in chunk.choices:
                received += choice.delta.content or ""

    with pytest.raises(openai.APIError) as caught:
        await consume()
    assert received == "This is a"
    assert "mock-fail-midway failed on purpose" in caught.value.message
