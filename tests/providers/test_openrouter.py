"""What only OpenRouter does, against the OpenRouter-flavoured simulator.

The OpenAI wire both kinds share (payload, chunks, errors, cancellation) is covered for
OpenRouter too, in test_openai_compat.py.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from quart_llm.errors import UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.openrouter import OpenRouterProvider, header_value
from quart_llm.schemas.chat_request import ChatRequest
from tests.providers.test_openai_compat import (
    KEY,
    TEXT,
    chat,
    chats,
    collect,
    collect_until_error,
    finish_reasons,
    model_for,
    raw_chunks,
    settings_for,
    text_of,
)
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.simulators.decoding import parse_sse

EXTRAS: dict[str, Any] = {"top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1}


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(first_token_delay=0.6, token_interval=0.01, hang_seconds=3.0)


@pytest.fixture
def sim(config: SimulatorConfig) -> Iterator[OpenAICompatSimulator]:
    with OpenAICompatSimulator(config, flavor="openrouter") as simulator:
        yield simulator
    assert simulator.errors == []


async def start(sim: OpenAICompatSimulator, **overrides: Any) -> OpenRouterProvider:
    overrides.setdefault("base_url", sim.base_url + "/api/v1")
    settings = settings_for("openrouter", **overrides)
    provider = OpenRouterProvider("openrouter", settings)
    await provider.start()
    return provider


@pytest.fixture
async def provider(sim: OpenAICompatSimulator) -> AsyncIterator[OpenRouterProvider]:
    provider = await start(sim)
    yield provider
    await provider.aclose()


# Requests


async def test_extras_are_forwarded(
    sim: OpenAICompatSimulator, provider: OpenRouterProvider
) -> None:
    request = chat(provider="openrouter", temperature=0.7, **EXTRAS)
    provider.check_supported(request)
    assert provider.chat_payload(request, "openai/gpt-4o", stream=False) == {
        "model": "openai/gpt-4o",
        "messages": [{"role": "user", "content": "Say hello to the café"}],
        "stream": False,
        "temperature": 0.7,
        **EXTRAS,
    }
    await collect(provider, request=request)
    (recorded,) = chats(sim)
    assert recorded.unknown_fields == []
    assert {name: recorded.json[name] for name in EXTRAS} == EXTRAS
    assert "provider" not in recorded.json
    assert recorded.json["stream_options"] == {"include_usage": True}


async def test_attribution_headers_on_every_request(
    sim: OpenAICompatSimulator, provider: OpenRouterProvider
) -> None:
    await collect(provider)
    await provider.complete(chat(), model_for("normal"))
    await provider.list_models()
    await provider.probe()
    assert len(sim.requests) == 4
    for recorded in sim.requests:
        assert recorded.headers["authorization"] == f"Bearer {KEY}"
        assert recorded.headers["http-referer"] == "https://gateway.example/app"
        assert recorded.headers["x-openrouter-title"] == "Gateway tests"
        assert recorded.headers["x-title"] == "Gateway tests"


async def test_no_attribution_headers_unless_configured(sim: OpenAICompatSimulator) -> None:
    provider = await start(sim, http_referer=None, app_title=None, api_key=None)
    try:
        assert text_of(await collect(provider)) == TEXT
        assert await provider.list_models()
    finally:
        await provider.aclose()
    for recorded in sim.requests:
        assert not {"http-referer", "x-openrouter-title", "x-title", "authorization"} & set(
            recorded.headers
        )


async def test_non_ascii_attribution_is_header_safe(sim: OpenAICompatSimulator) -> None:
    provider = await start(
        sim, app_title="Café Gateway 100%", http_referer="https://café.example/\r\nX-Evil: 1"
    )
    try:
        await collect(provider)
    finally:
        await provider.aclose()
    (recorded,) = sim.requests
    assert recorded.headers["x-openrouter-title"] == "Caf%C3%A9 Gateway 100%25"
    assert recorded.headers["x-title"] == "Caf%C3%A9 Gateway 100%25"
    assert recorded.headers["http-referer"] == "https://caf%C3%A9.example/%0D%0AX-Evil: 1"
    assert "x-evil" not in recorded.headers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My App", "My App"),
        ("https://app.example/path?q=1", "https://app.example/path?q=1"),
        ("100% ok", "100% ok"),
        ("Ünïcode", "%C3%9Cn%C3%AFcode"),
        ("tab\there", "tab%09here"),
    ],
)
def test_header_value(text: str, expected: str) -> None:
    assert header_value(text) == expected


# Streams


async def test_processing_comments_are_skipped(
    sim: OpenAICompatSimulator, provider: OpenRouterProvider
) -> None:
    chunks = await collect(provider, "processing-comments")
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.post(
            sim.base_url + "/api/v1/chat/completions",
            json=provider.chat_payload(chat(), model_for("processing-comments"), stream=True),
        )
    upstream = parse_sse(response.content)
    assert len(upstream.comments) > 3
    assert set(upstream.comments) == {"OPENROUTER PROCESSING"}
    assert text_of(chunks) == TEXT
    assert len(chunks) == len(upstream.events) - 1


async def test_keepalive_comments_before_a_slow_first_token(
    provider: OpenRouterProvider,
) -> None:
    chunks = await collect(provider, "slow-first-token")
    assert chunks[0].choices[0]["delta"]["role"] == "assistant"
    assert text_of(chunks) == TEXT


async def test_native_finish_reason_is_dropped_and_usage_has_cost(
    sim: OpenAICompatSimulator, provider: OpenRouterProvider
) -> None:
    chunks = await collect(provider)
    raw = await raw_chunks(sim, provider, "normal")
    assert any("native_finish_reason" in choice for c in raw for choice in c["choices"])
    assert all("native_finish_reason" not in choice for c in chunks for choice in c.choices)
    assert finish_reasons(chunks) == ["stop"]
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.cost == pytest.approx(
        (usage.prompt_tokens + 2 * usage.completion_tokens) / 1_000_000
    )
    assert usage.details == {
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
    }
    wire = usage.to_wire()
    assert wire["cost"] == usage.cost
    assert "is_byok" not in wire
    assert all(chunk.usage is None for chunk in chunks[:-1])


async def test_usage_of_a_thinking_answer(provider: OpenRouterProvider) -> None:
    chunks = await collect(provider, "thinking")
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.details["completion_tokens_details"] == {"reasoning_tokens": 4}
    details = [
        delta["reasoning_details"]
        for chunk in chunks
        for delta in (choice["delta"] for choice in chunk.choices)
        if delta.get("reasoning")
    ]
    assert [entry[0]["text"] for entry in details] == ["Let", " me", " think", "."]


async def test_mid_stream_error_chunk(provider: OpenRouterProvider) -> None:
    received, error = await collect_until_error(provider, "error-mid-stream")
    assert text_of(received)
    assert "error" not in finish_reasons(received)
    assert isinstance(error, UpstreamProtocolError)
    assert error.code == "upstream_stream_error"
    assert (
        error.message
        == "provider 'openrouter': upstream failed mid-stream: Provider returned error"
    )


async def test_error_chunk_before_content_carries_its_code(provider: OpenRouterProvider) -> None:
    received, error = await collect_until_error(provider, "error-in-200")
    assert received == []
    assert isinstance(error, UpstreamStatusError)
    assert error.upstream_status == 502
    assert error.message == "provider 'openrouter': upstream error: Provider returned error"


# Whole answers


@pytest.mark.parametrize("scenario", ["normal", "slow-first-token"])
async def test_whole_answer_after_leading_whitespace(
    provider: OpenRouterProvider, scenario: str
) -> None:
    completion = await provider.complete(chat(), model_for(scenario))
    (choice,) = completion.choices
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": TEXT, "refusal": None, "reasoning": None},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert completion.usage is not None
    assert completion.usage.cost is not None
    assert "cost_details" in completion.usage.details


async def test_whole_answer_error_in_200_carries_its_code(provider: OpenRouterProvider) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await provider.complete(chat(), model_for("error-in-200"))
    assert info.value.upstream_status == 502
    assert info.value.status == 502
    assert "Provider returned error" in info.value.message


async def test_rate_limit_keeps_only_retry_after(
    provider: OpenRouterProvider, config: SimulatorConfig
) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await collect(provider, "rate-limited")
    assert info.value.status == 429
    assert info.value.headers == {"Retry-After": str(config.retry_after)}
    assert "free-models-per-min" in info.value.message


# Models


async def test_list_models_in_openrouters_shape(
    sim: OpenAICompatSimulator, provider: OpenRouterProvider, config: SimulatorConfig
) -> None:
    async with httpx.AsyncClient(timeout=5.0) as client:
        listed = (await client.get(sim.base_url + "/api/v1/models")).json()
    assert "object" not in listed
    assert {"pricing", "context_length"} <= set(listed["data"][0])
    assert "owned_by" not in listed["data"][0]
    models = await provider.list_models()
    assert models == config.known_models
    assert "meta-llama/llama-3.2-3b-instruct:free" in models


async def test_probe(sim: OpenAICompatSimulator, provider: OpenRouterProvider) -> None:
    await provider.probe()
    assert [(r.method, r.path) for r in sim.requests] == [("GET", "/api/v1/models")]


async def test_probe_failure(sim: OpenAICompatSimulator) -> None:
    provider = await start(sim, base_url=sim.base_url + "/api/v2")
    try:
        with pytest.raises(UpstreamStatusError) as info:
            await provider.probe()
        with pytest.raises(UpstreamStatusError):
            await provider.list_models()
    finally:
        await provider.aclose()
    assert info.value.status == 404


def test_provider_field_is_the_gateways_own() -> None:
    request = ChatRequest.model_validate(
        {"model": "m", "provider": "openrouter", "messages": [{"role": "user", "content": "x"}]}
    )
    settings = settings_for("openrouter", "http://upstream.test/api/v1")
    payload = OpenRouterProvider("openrouter", settings).chat_payload(request, "m", stream=True)
    assert "provider" not in payload
