"""OpenAI-compatible providers against the simulators, over real HTTP on loopback.

Every test here runs for both kinds that speak the OpenAI wire: `openai` (OpenAICompatProvider
against the OpenAI-flavoured simulator) and `openrouter` (OpenRouterProvider against the
OpenRouter-flavoured one). What only OpenRouter does is in test_openrouter.py. A few cases no
simulator scenario produces (a gzip body, an echoed key) use httpx.MockTransport at the end.
"""

import asyncio
import gzip
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest

from quart_llm.config.models import ProviderSettings, ProviderTimeouts
from quart_llm.errors import (
    InvalidRequest,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from quart_llm.observability.request_ids import current_request_id
from quart_llm.providers.answers import StreamChunk, TokenUsage
from quart_llm.providers.openai_compat import OpenAICompatProvider
from quart_llm.providers.openrouter import OpenRouterProvider
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.route import Route
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.services.chat import whole_answer_attempt
from quart_llm.streaming.readahead import ReadAhead
from tests.providers.streams import stream_chunks
from tests.simulators import Flavor, OpenAICompatSimulator, RecordedRequest, SimulatorConfig
from tests.simulators.decoding import parse_sse
from tests.support.ports import free_port

KEY = "sk-upstream-test-0123456789abcdef"
TEXT = "".join(SimulatorConfig().tokens)
THINKING = ["Let", " me", " think", "."]
ARGUMENTS = '{"city":"Tokyo"}'
KINDS: dict[str, tuple[type[OpenAICompatProvider], str]] = {
    "openai": (OpenAICompatProvider, "/v1"),
    "openrouter": (OpenRouterProvider, "/api/v1"),
}
ATTRIBUTION = ("http-referer", "x-openrouter-title", "x-title")
SSE = {"content-type": "text/event-stream"}

MakeProvider = Callable[..., Awaitable[OpenAICompatProvider]]


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(
        first_token_delay=0.2, token_interval=0.01, hang_seconds=3.0, api_key=KEY
    )


@pytest.fixture(params=["openai", "openrouter"])
def flavor(request: pytest.FixtureRequest) -> Flavor:
    value: Flavor = request.param
    return value


@pytest.fixture
def sim(config: SimulatorConfig, flavor: Flavor) -> Iterator[OpenAICompatSimulator]:
    with OpenAICompatSimulator(config, flavor=flavor) as simulator:
        yield simulator
    assert simulator.errors == []


def upstream_url(sim: OpenAICompatSimulator) -> str:
    return sim.base_url + KINDS[sim.flavor][1]


def settings_for(kind: str, base_url: str, **overrides: Any) -> ProviderSettings:
    values: dict[str, Any] = {
        "kind": kind,
        "base_url": base_url,
        "api_key": KEY,
        "timeouts": ProviderTimeouts(connect=2.0, first_byte=5.0, idle=5.0, total=10.0),
        "http_referer": "https://gateway.example/app",
        "app_title": "Gateway tests",
    }
    values.update(overrides)
    return ProviderSettings(**values)


@pytest.fixture
async def make_provider(sim: OpenAICompatSimulator, flavor: Flavor) -> AsyncIterator[MakeProvider]:
    made: list[OpenAICompatProvider] = []

    async def make(**overrides: Any) -> OpenAICompatProvider:
        overrides.setdefault("base_url", upstream_url(sim))
        provider_class = KINDS[flavor][0]
        provider = provider_class("up", settings_for(flavor, **overrides))
        await provider.start()
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
async def provider(make_provider: MakeProvider) -> OpenAICompatProvider:
    return await make_provider()


def short_timeouts() -> ProviderTimeouts:
    return ProviderTimeouts(connect=2.0, first_byte=0.3, idle=0.3, total=0.6)


def chat(**fields: Any) -> ChatRequest:
    body: dict[str, Any] = {
        "model": "up/gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello to the café"}],
    }
    body.update(fields)
    return ChatRequest.model_validate(body)


def model_for(scenario: str) -> str:
    return f"sim/{scenario}"


async def collect(
    provider: OpenAICompatProvider, scenario: str = "normal", request: ChatRequest | None = None
) -> list[StreamChunk]:
    stream = stream_chunks(provider, request or chat(), model_for(scenario))
    return [chunk async for chunk in stream]


async def collect_until_error(
    provider: OpenAICompatProvider, scenario: str
) -> tuple[list[StreamChunk], UpstreamError]:
    received: list[StreamChunk] = []

    async def read() -> None:
        async for chunk in stream_chunks(provider, chat(), model_for(scenario)):
            received.append(chunk)

    with pytest.raises(UpstreamError) as info:
        await read()
    return received, info.value


async def ask(provider: OpenAICompatProvider, scenario: str, *, streamed: bool) -> None:
    if streamed:
        await collect(provider, scenario)
    else:
        await provider.complete(chat(), model_for(scenario))


def chats(sim: OpenAICompatSimulator) -> list[RecordedRequest]:
    return [request for request in sim.requests if request.path.endswith("/chat/completions")]


def deltas(chunks: list[StreamChunk]) -> list[dict[str, Any]]:
    return [choice["delta"] for chunk in chunks for choice in chunk.choices]


def text_of(chunks: list[StreamChunk], field: str = "content") -> str:
    return "".join(delta.get(field) or "" for delta in deltas(chunks))


def finish_reasons(chunks: list[StreamChunk]) -> list[str]:
    return [
        choice["finish_reason"]
        for chunk in chunks
        for choice in chunk.choices
        if choice.get("finish_reason")
    ]


async def raw_chunks(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, scenario: str, **fields: Any
) -> list[dict[str, Any]]:
    """What the upstream sends for the same request, read independently of the provider."""
    payload = provider.chat_payload(chat(**fields), model_for(scenario), stream=True)
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.post(
            upstream_url(sim) + "/chat/completions",
            json=payload,
            headers={"Authorization": f"Bearer {KEY}"},
        )
    return [event.json() for event in parse_sse(response.content).events if event.data != "[DONE]"]


def without_native_finish_reason(choices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in choice.items() if k != "native_finish_reason"} for choice in choices]


# The request: payload


def test_payload_minimal_whole_and_streamed(flavor: Flavor) -> None:
    provider = KINDS[flavor][0]("up", settings_for(flavor, "http://upstream.test/v1"))
    request = chat(provider="up", stream=True, stream_options={"include_usage": False})
    messages = [{"role": "user", "content": "Say hello to the café"}]
    assert provider.chat_payload(request, "gpt-4o-mini", stream=False) == {
        "model": "gpt-4o-mini",
        "messages": messages,
        "stream": False,
    }
    assert provider.chat_payload(request, "gpt-4o-mini", stream=True) == {
        "model": "gpt-4o-mini",
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_payload_without_usage_request(flavor: Flavor) -> None:
    settings = settings_for(flavor, "http://upstream.test/v1", options={"request_usage": False})
    provider = KINDS[flavor][0]("up", settings)
    payload = provider.chat_payload(chat(), "m", stream=True)
    assert payload["stream"] is True
    assert "stream_options" not in payload


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "default": None}},
    "required": ["city"],
}
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup_city",
        "description": "Find a city",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}},
        "strict": True,
    },
}
OPENAI_FIELDS: dict[str, Any] = {
    "temperature": 0.0,
    "top_p": 0.9,
    "max_tokens": 64,
    "max_completion_tokens": 32,
    "stop": ["\n\n", "END"],
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "n": 1,
    "user": "user-42",
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "city", "schema": SCHEMA, "strict": True},
    },
    "tools": [TOOL],
    "tool_choice": {"type": "function", "function": {"name": "lookup_city"}},
    "parallel_tool_calls": False,
    "logprobs": True,
    "top_logprobs": 2,
    "logit_bias": {"50256": -100.0},
    "reasoning_effort": "low",
    "metadata": {"team": "a"},
    "store": False,
    "service_tier": "default",
}


def test_payload_forwards_every_openai_field_that_is_set(flavor: Flavor) -> None:
    provider = KINDS[flavor][0]("up", settings_for(flavor, "http://upstream.test/v1"))
    payload = provider.chat_payload(chat(provider="up", **OPENAI_FIELDS), "m", stream=False)
    assert payload == {
        "model": "m",
        "messages": [{"role": "user", "content": "Say hello to the café"}],
        "stream": False,
        **OPENAI_FIELDS,
    }
    assert payload["response_format"]["json_schema"]["schema"] == SCHEMA
    assert "schema_" not in payload["response_format"]["json_schema"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"stop": "END"}, {"stop": "END"}),
        ({"temperature": 0.0}, {"temperature": 0.0}),
        (
            {"response_format": {"type": "json_object"}},
            {"response_format": {"type": "json_object"}},
        ),
        (
            {"tools": [TOOL], "tool_choice": "required"},
            {"tools": [TOOL], "tool_choice": "required"},
        ),
        ({"temperature": None, "user": None}, {}),
    ],
)
def test_payload_forwards_only_what_is_set(
    flavor: Flavor, fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    provider = KINDS[flavor][0]("up", settings_for(flavor, "http://upstream.test/v1"))
    payload = provider.chat_payload(chat(**fields), "m", stream=False)
    assert {
        k: v for k, v in payload.items() if k not in ("model", "messages", "stream")
    } == expected


CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
    {
        "role": "user",
        "name": "ann",
        "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
            },
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "lookup_city", "arguments": '{"name": "Tokyo"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "Tokyo, Japan"},
    {"role": "assistant", "content": "A cat in Tokyo."},
]
CONVERSATION_ON_THE_WIRE: list[dict[str, Any]] = [
    CONVERSATION[0],
    CONVERSATION[1],
    CONVERSATION[2],
    {"role": "assistant", "tool_calls": CONVERSATION[3]["tool_calls"]},
    CONVERSATION[4],
    CONVERSATION[5],
]


def test_payload_messages_parts_images_and_tool_calls(flavor: Flavor) -> None:
    provider = KINDS[flavor][0]("up", settings_for(flavor, "http://upstream.test/v1"))
    payload = provider.chat_payload(chat(messages=CONVERSATION), "m", stream=True)
    assert payload["messages"] == CONVERSATION_ON_THE_WIRE


@pytest.mark.parametrize("field", ["top_k", "min_p", "repetition_penalty"])
def test_openai_kind_refuses_openrouter_extras(field: str) -> None:
    provider = OpenAICompatProvider("up", settings_for("openai", "http://upstream.test/v1"))
    value = {"top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1}[field]
    request = chat(**{field: value})
    with pytest.raises(InvalidRequest) as info:
        provider.check_supported(request)
    assert info.value.status == 400
    assert info.value.param == field
    assert info.value.code == "unsupported_parameter"
    assert field not in provider.chat_payload(request, "m", stream=False)


def test_openai_kind_accepts_every_openai_field() -> None:
    provider = OpenAICompatProvider("up", settings_for("openai", "http://upstream.test/v1"))
    provider.check_supported(chat(**OPENAI_FIELDS))


@pytest.mark.parametrize(
    ("limits", "sent"),
    [
        ({"max_tokens": 7}, {"max_completion_tokens": 7}),
        ({"max_completion_tokens": 5}, {"max_completion_tokens": 5}),
        ({"max_tokens": 7, "max_completion_tokens": 5}, {"max_completion_tokens": 5}),
        ({}, {}),
    ],
)
def test_max_tokens_field_names_the_limit_for_servers_that_refuse_max_tokens(
    limits: dict[str, int], sent: dict[str, int]
) -> None:
    def limits_sent(options: dict[str, str]) -> dict[str, Any]:
        settings = settings_for("openai", "http://upstream.test/v1", options=options)
        payload = OpenAICompatProvider("up", settings).chat_payload(
            chat(**limits), "m", stream=False
        )
        return {name: value for name, value in payload.items() if name.startswith("max_")}

    assert limits_sent({"max_tokens_field": "max_completion_tokens"}) == sent
    assert limits_sent({}) == limits, "as the client named them by default"
    with pytest.raises(ValueError, match="max_tokens_field"):
        limits_sent({"max_tokens_field": "n"})


def test_max_line_bytes_must_be_positive(flavor: Flavor) -> None:
    settings = settings_for(flavor, "http://upstream.test/v1", options={"max_line_bytes": 0})
    with pytest.raises(ValueError, match="max_line_bytes"):
        KINDS[flavor][0]("up", settings)


# The request: on the wire


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize("streamed", [True, False])
async def test_request_on_the_wire(
    sim: OpenAICompatSimulator, make_provider: MakeProvider, streamed: bool, transport: str
) -> None:
    provider = await make_provider(transport=transport)
    request = chat(messages=CONVERSATION, temperature=0.2, max_completion_tokens=100)
    if streamed:
        await collect(provider, request=request)
    else:
        await provider.complete(request, model_for("normal"))
    (recorded,) = chats(sim)
    assert recorded.method == "POST"
    assert recorded.json == provider.chat_payload(request, model_for("normal"), stream=streamed)
    assert recorded.json["stream"] is streamed
    assert recorded.json["model"] == "sim/normal"
    assert recorded.unknown_fields == []
    assert recorded.images == ["https://img.example/cat.png", "data:image/png;base64,iVBORw0KGgo="]
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.headers["content-type"] == "application/json"
    assert recorded.headers["user-agent"] == "quart_llm"
    assert recorded.headers["content-length"] == str(len(recorded.body))
    assert recorded.headers["host"] == sim.base_url.removeprefix("http://")
    assert "x-request-id" not in recorded.headers


@pytest.mark.parametrize("streamed", [True, False])
async def test_request_id_is_forwarded(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, streamed: bool
) -> None:
    token = current_request_id.set("req_abc123")
    try:
        await ask(provider, "normal", streamed=streamed)
    finally:
        current_request_id.reset(token)
    await ask(provider, "normal", streamed=streamed)
    first, second = chats(sim)
    assert first.headers["x-request-id"] == "req_abc123"
    assert "x-request-id" not in second.headers


async def test_attribution_headers_only_for_openrouter(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, flavor: Flavor
) -> None:
    await collect(provider)
    await provider.list_models()
    for recorded in sim.requests:
        sent = {name for name in ATTRIBUTION if name in recorded.headers}
        if flavor == "openrouter":
            assert recorded.headers["http-referer"] == "https://gateway.example/app"
            assert recorded.headers["x-openrouter-title"] == "Gateway tests"
            assert recorded.headers["x-title"] == "Gateway tests"
        else:
            assert sent == set()


# Streams


async def test_stream_relays_the_upstream_choices(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, flavor: Flavor
) -> None:
    chunks = await collect(provider)
    raw = await raw_chunks(sim, provider, "normal")
    assert [chunk.choices for chunk in chunks] == [
        without_native_finish_reason(chunk["choices"]) for chunk in raw
    ]
    assert deltas(chunks)[0]["role"] == "assistant"
    assert text_of(chunks) == TEXT
    assert finish_reasons(chunks) == ["stop"]
    assert all("native_finish_reason" not in choice for c in chunks for choice in c.choices)
    *body, last = chunks
    assert all(chunk.usage is None for chunk in body)
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0
    assert last.usage.completion_tokens == len(SimulatorConfig().tokens)
    assert last.usage.estimated is False
    wire = {k: v for k, v in raw[-1]["usage"].items() if k != "is_byok"}
    assert last.usage.to_wire() == wire
    if flavor == "openai":
        assert last.usage.cost is None


@pytest.mark.parametrize("scenario", ["processing-comments", "crlf", "split-chunks", "paced"])
async def test_stream_framing_variants_give_the_same_chunks(
    provider: OpenAICompatProvider, scenario: str
) -> None:
    expected = await collect(provider, "normal")
    chunks = await collect(provider, scenario)
    assert [chunk.choices for chunk in chunks] == [chunk.choices for chunk in expected]
    assert chunks[-1].usage == expected[-1].usage


async def test_stream_waits_for_a_slow_first_token(provider: OpenAICompatProvider) -> None:
    chunks = await collect(provider, "slow-first-token")
    assert text_of(chunks) == TEXT
    assert finish_reasons(chunks) == ["stop"]


async def test_stream_tool_call_fragments(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider
) -> None:
    request = chat(tools=[TOOL], tool_choice="auto")
    chunks = await collect(provider, "tool-calls", request)
    assert [c.choices for c in chunks] == [
        without_native_finish_reason(c["choices"])
        for c in await raw_chunks(sim, provider, "tool-calls", tools=[TOOL], tool_choice="auto")
    ]
    calls = [delta["tool_calls"] for delta in deltas(chunks) if delta.get("tool_calls")]
    (first,), *rest = calls
    assert first["index"] == 0
    assert first["id"].startswith("call_")
    assert first["type"] == "function"
    assert first["function"] == {"name": "lookup_city", "arguments": ""}
    assert len(rest) > 1
    for (fragment,) in rest:
        assert fragment["index"] == 0
        assert "id" not in fragment
        assert "name" not in fragment["function"]
    assert "".join(fragment["function"]["arguments"] for (fragment,) in rest) == ARGUMENTS
    assert finish_reasons(chunks) == ["tool_calls"]
    assert text_of(chunks) == ""


async def test_stream_thinking_as_reasoning(provider: OpenAICompatProvider) -> None:
    chunks = await collect(provider, "thinking")
    reasoning = [delta["reasoning"] for delta in deltas(chunks) if delta.get("reasoning")]
    assert reasoning == THINKING
    first_content = next(i for i, delta in enumerate(deltas(chunks)) if delta.get("content"))
    last_reasoning = max(i for i, delta in enumerate(deltas(chunks)) if delta.get("reasoning"))
    assert last_reasoning < first_content
    assert text_of(chunks) == TEXT
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.details["completion_tokens_details"]["reasoning_tokens"] == len(THINKING)


async def test_stream_without_usage(provider: OpenAICompatProvider) -> None:
    chunks = await collect(provider, "usage-missing")
    assert text_of(chunks) == TEXT
    assert finish_reasons(chunks) == ["stop"]
    assert all(chunk.usage is None for chunk in chunks)


async def test_stream_gigantic_chunk_within_the_default_limit(
    provider: OpenAICompatProvider, config: SimulatorConfig
) -> None:
    chunks = await collect(provider, "gigantic-chunk")
    assert text_of(chunks) == "x" * config.gigantic_bytes


async def test_stream_gigantic_chunk_over_a_lower_limit(make_provider: MakeProvider) -> None:
    provider = await make_provider(options={"max_line_bytes": 1024 * 1024})
    received, error = await collect_until_error(provider, "gigantic-chunk")
    assert isinstance(error, UpstreamProtocolError)
    assert "too long" in error.message
    assert text_of(received) == ""


async def test_stream_reuses_the_connection(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider
) -> None:
    for _ in range(3):
        await collect(provider)
    await provider.complete(chat(), model_for("normal"))
    assert len({request.connection_id for request in chats(sim)}) == 1


# Whole answers


async def test_complete(provider: OpenAICompatProvider, flavor: Flavor) -> None:
    completion = await provider.complete(chat(), model_for("normal"))
    (choice,) = completion.choices
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert "native_finish_reason" not in choice
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == TEXT
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(SimulatorConfig().tokens)
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    if flavor == "openai":
        assert completion.extra == {"system_fingerprint": "fp_sim0001", "service_tier": "default"}
        assert completion.usage.cost is None


async def test_complete_tool_calls(provider: OpenAICompatProvider) -> None:
    completion = await provider.complete(chat(tools=[TOOL]), model_for("tool-calls"))
    (choice,) = completion.choices
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "lookup_city", "arguments": ARGUMENTS}


async def test_complete_thinking_and_missing_usage(provider: OpenAICompatProvider) -> None:
    thinking = await provider.complete(chat(), model_for("thinking"))
    assert thinking.choices[0]["message"]["reasoning"] == "".join(THINKING)
    assert thinking.choices[0]["message"]["content"] == TEXT
    missing = await provider.complete(chat(), model_for("usage-missing"))
    assert missing.usage is None
    assert missing.choices[0]["message"]["content"] == TEXT


@pytest.mark.parametrize("scenario", ["slow-first-token", "split-chunks", "crlf"])
async def test_complete_variants(provider: OpenAICompatProvider, scenario: str) -> None:
    completion = await provider.complete(chat(), model_for(scenario))
    assert completion.choices[0]["message"]["content"] == TEXT


async def test_complete_gigantic_answer(
    make_provider: MakeProvider, config: SimulatorConfig
) -> None:
    provider = await make_provider()
    completion = await provider.complete(chat(), model_for("gigantic-chunk"))
    assert completion.choices[0]["message"]["content"] == "x" * config.gigantic_bytes
    limited = await make_provider(options={"max_line_bytes": 1024 * 1024})
    with pytest.raises(UpstreamProtocolError, match="exceeds 1048576 bytes"):
        await limited.complete(chat(), model_for("gigantic-chunk"))


# Upstream errors, streamed and whole


@pytest.mark.parametrize("streamed", [True, False])
async def test_error_before_stream(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, "error-before-stream", streamed=streamed)
    assert info.value.upstream_status == 500
    assert info.value.status == 502
    assert info.value.code == "upstream_error"
    assert info.value.message.startswith("provider 'up': upstream answered 500: ")


@pytest.mark.parametrize("streamed", [True, False])
async def test_rate_limited_keeps_retry_after(
    provider: OpenAICompatProvider, config: SimulatorConfig, streamed: bool
) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, "rate-limited", streamed=streamed)
    assert info.value.status == 429
    assert info.value.code == "upstream_rate_limited"
    assert info.value.headers == {"Retry-After": str(config.retry_after)}
    assert "Rate limit" in info.value.message


@pytest.mark.parametrize("streamed", [True, False])
async def test_unauthorized(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, "unauthorized", streamed=streamed)
    assert info.value.upstream_status == 401
    assert info.value.status == 502
    assert info.value.code == "upstream_authentication_failed"
    assert KEY not in info.value.message
    assert KEY not in str(info.value.to_body())


@pytest.mark.parametrize("streamed", [True, False])
async def test_wrong_key(make_provider: MakeProvider, streamed: bool) -> None:
    wrong = "sk-wrong-key-9876543210fedcba"
    provider = await make_provider(api_key=wrong)
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, "normal", streamed=streamed)
    assert info.value.status == 502
    assert info.value.code == "upstream_authentication_failed"
    assert wrong not in info.value.message
    assert KEY not in info.value.message


@pytest.mark.parametrize("streamed", [True, False])
async def test_unknown_model(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, "unknown-model", streamed=streamed)
    assert info.value.status == 404
    assert info.value.code == "model_not_found"
    assert "sim/unknown-model" in info.value.message


@pytest.mark.parametrize("streamed", [True, False])
async def test_html_500(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, "html-500", streamed=streamed)
    assert info.value.status == 502
    assert info.value.message == "provider 'up': upstream answered 500: HTTP 500"
    assert "<" not in info.value.message
    assert "nginx" not in info.value.message


@pytest.mark.parametrize("streamed", [True, False])
async def test_wrong_content_type(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamProtocolError, match="unexpected content type 'text/html'") as info:
        await ask(provider, "wrong-content-type", streamed=streamed)
    assert info.value.status == 502
    assert "Sign in" not in info.value.message


async def test_error_in_200_whole(provider: OpenAICompatProvider, flavor: Flavor) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await provider.complete(chat(), model_for("error-in-200"))
    assert info.value.upstream_status == 502
    assert info.value.status == 502
    expected = "Provider returned error" if flavor == "openrouter" else "had an error"
    assert expected in info.value.message


async def test_error_in_200_streamed_before_any_chunk(
    provider: OpenAICompatProvider, flavor: Flavor
) -> None:
    received, error = await collect_until_error(provider, "error-in-200")
    assert received == []
    assert isinstance(error, UpstreamStatusError)
    assert error.status == 502
    expected = "Provider returned error" if flavor == "openrouter" else "had an error"
    assert expected in error.message


async def test_error_mid_stream_after_content(
    provider: OpenAICompatProvider, flavor: Flavor
) -> None:
    received, error = await collect_until_error(provider, "error-mid-stream")
    assert received
    assert text_of(received) == TEXT[: len(text_of(received))]
    assert finish_reasons(received) == []
    assert isinstance(error, UpstreamProtocolError)
    assert error.code == "upstream_stream_error"
    assert error.status == 502
    assert "mid-stream" in error.message
    expected = "Provider returned error" if flavor == "openrouter" else "had an error"
    assert expected in error.message


async def test_error_mid_stream_whole(provider: OpenAICompatProvider) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await provider.complete(chat(), model_for("error-mid-stream"))
    assert info.value.status == 502


@pytest.mark.parametrize("streamed", [True, False])
async def test_malformed_line(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamProtocolError, match="malformed") as info:
        await ask(provider, "malformed-line", streamed=streamed)
    assert info.value.code == "upstream_protocol_error"


@pytest.mark.parametrize("streamed", [True, False])
async def test_reset_before_headers(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamError) as info:
        await ask(provider, "reset-before-headers", streamed=streamed)
    assert not isinstance(info.value, UpstreamStatusError)
    assert info.value.status in (502, 503)
    assert "http://" not in info.value.message


async def test_reset_mid_stream(provider: OpenAICompatProvider) -> None:
    received, error = await collect_until_error(provider, "reset-mid-stream")
    assert text_of(received)
    assert not isinstance(error, UpstreamStatusError)
    assert error.status in (502, 503)


async def test_reset_mid_body(provider: OpenAICompatProvider) -> None:
    with pytest.raises(UpstreamError) as info:
        await provider.complete(chat(), model_for("reset-mid-stream"))
    assert not isinstance(info.value, UpstreamStatusError)


@pytest.mark.parametrize("streamed", [True, False])
async def test_no_terminator(provider: OpenAICompatProvider, streamed: bool) -> None:
    with pytest.raises(UpstreamProtocolError, match="ended before it was complete"):
        await ask(provider, "no-terminator", streamed=streamed)


async def test_no_terminator_after_content(provider: OpenAICompatProvider) -> None:
    received, error = await collect_until_error(provider, "no-terminator")
    assert text_of(received) == TEXT
    assert isinstance(error, UpstreamProtocolError)


@pytest.mark.parametrize("scenario", ["hang", "hang-mid-stream"])
async def test_a_hung_whole_answer_times_out_under_the_requests_deadline(
    make_provider: MakeProvider, scenario: str
) -> None:
    """Whole answers carry no socket read timeout either: the gateway waits for them until
    the request's deadline, as every attempt at a whole answer does."""
    provider = await make_provider(timeouts=short_timeouts())
    attempt = whole_answer_attempt(chat())
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout) as info:
        await attempt(
            Route(provider, model_for(scenario)), Deadline.start(provider.settings.timeouts)
        )
    assert time.monotonic() - started < 2.5
    assert info.value.status == 504
    assert info.value.code == "upstream_timeout"
    assert "no complete answer within 0.6 s" in info.value.message


@pytest.mark.parametrize(
    ("scenario", "message"),
    [("hang", "no first token within 0.3 s"), ("hang-mid-stream", "no data for 0.3 s")],
)
async def test_a_hung_stream_times_out_under_the_gateways_watchdog(
    make_provider: MakeProvider, scenario: str, message: str
) -> None:
    """Streams carry no socket read timeout: the gateway reads them through ReadAhead,
    whose watchdog times the first token and every gap. Mid-stream, the first token may take
    2 s, so a loaded machine cannot turn the silence after it into a first-token timeout."""
    timeouts = short_timeouts()
    if scenario == "hang-mid-stream":
        timeouts = ProviderTimeouts(connect=2.0, first_byte=2.0, idle=0.3, total=5.0)
    provider = await make_provider(timeouts=timeouts)
    stream = ReadAhead(
        provider.name,
        provider.stream_batches(chat(), model_for(scenario)),
        Deadline.start(provider.settings.timeouts),
    )
    started = time.monotonic()
    stream.start()
    try:
        items = [await stream.next()]
        while isinstance(items[-1], list):
            items.append(await stream.next())
    finally:
        await stream.aclose()
    assert time.monotonic() - started < 2.5
    error = items[-1]
    assert isinstance(error, UpstreamTimeout)
    assert (error.status, error.code) == (504, "upstream_timeout")
    assert message in error.message
    # Mid-stream, the chunks sent before the silence come first.
    assert (len(items) > 1) is (scenario == "hang-mid-stream")


@pytest.mark.parametrize("call", ["stream", "complete", "list_models", "probe"])
async def test_connection_refused(flavor: Flavor, call: str) -> None:
    base_url = f"http://127.0.0.1:{free_port()}{KINDS[flavor][1]}"
    provider = KINDS[flavor][0]("up", settings_for(flavor, base_url))
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "stream": lambda: collect(provider),
        "complete": lambda: provider.complete(chat(), "m"),
        "list_models": provider.list_models,
        "probe": provider.probe,
    }
    await provider.start()
    try:
        with pytest.raises(UpstreamConnectError) as info:
            await calls[call]()
    finally:
        await provider.aclose()
    assert info.value.status == 503
    assert info.value.code == "upstream_unavailable"
    assert "127.0.0.1" not in info.value.message


async def test_errors_leave_the_pool_usable(provider: OpenAICompatProvider) -> None:
    for scenario in ("reset-mid-stream", "malformed-line", "error-mid-stream", "html-500"):
        with pytest.raises(UpstreamError):
            await collect(provider, scenario)
    assert text_of(await collect(provider)) == TEXT


# Cancellation


async def test_leaving_a_stream_early_closes_the_upstream(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, config: SimulatorConfig
) -> None:
    config.token_interval = 0.2
    stream = stream_chunks(provider, chat(), model_for("paced"))
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    second = await anext(stream)
    assert first.choices[0]["delta"]["role"] == "assistant"
    assert second.choices[0]["delta"]["content"] == "Hello"
    (recorded,) = chats(sim)
    left_at = time.monotonic()
    await stream.aclose()
    closed_at = await asyncio.to_thread(sim.wait_for_client_close, recorded, 2.0)
    assert closed_at - left_at < 0.5
    finished_at = await asyncio.to_thread(sim.wait_until_finished, recorded, 2.0)
    assert finished_at - left_at < 0.5
    config.token_interval = 0.01
    assert text_of(await collect(provider)) == TEXT


async def test_cancelling_the_reading_task_closes_the_upstream(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, config: SimulatorConfig
) -> None:
    config.token_interval = 0.2
    received: list[StreamChunk] = []

    async def read() -> None:
        async for chunk in stream_chunks(provider, chat(), model_for("paced")):
            received.append(chunk)

    task = asyncio.create_task(read())
    (recorded,) = await asyncio.to_thread(sim.wait_for_requests, 1, 2.0)
    while len(received) < 2:
        await asyncio.sleep(0.01)
    left_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    closed_at = await asyncio.to_thread(sim.wait_for_client_close, recorded, 2.0)
    assert closed_at - left_at < 0.5
    config.token_interval = 0.01
    assert text_of(await collect(provider)) == TEXT


# Models and liveness


async def test_list_models(
    sim: OpenAICompatSimulator, provider: OpenAICompatProvider, config: SimulatorConfig
) -> None:
    assert await provider.list_models() == config.known_models
    (recorded,) = sim.requests
    assert recorded.method == "GET"
    assert recorded.path == KINDS[sim.flavor][1] + "/models"
    assert recorded.headers["authorization"] == f"Bearer {KEY}"


async def test_probe(sim: OpenAICompatSimulator, provider: OpenAICompatProvider) -> None:
    await provider.probe()
    (recorded,) = sim.requests
    assert recorded.method == "GET"
    assert recorded.path == KINDS[sim.flavor][1] + "/models"


@pytest.mark.parametrize("call", ["list_models", "probe"])
async def test_models_and_probe_on_a_failing_upstream(
    sim: OpenAICompatSimulator, make_provider: MakeProvider, call: str
) -> None:
    provider = await make_provider(base_url=sim.base_url + "/nowhere")
    with pytest.raises(UpstreamStatusError) as info:
        await (provider.list_models() if call == "list_models" else provider.probe())
    assert info.value.upstream_status == 404


async def test_openai_models_need_the_key(config: SimulatorConfig) -> None:
    with OpenAICompatSimulator(config, flavor="openai") as sim:
        provider = OpenAICompatProvider(
            "up", settings_for("openai", upstream_url(sim), api_key="sk-not-the-right-one")
        )
        await provider.start()
        try:
            with pytest.raises(UpstreamStatusError) as info:
                await provider.list_models()
            with pytest.raises(UpstreamStatusError):
                await provider.probe()
        finally:
            await provider.aclose()
    assert info.value.code == "upstream_authentication_failed"
    assert "sk-not-the-right-one" not in info.value.message


# Cases no simulator scenario produces


Handler = Callable[[httpx.Request], httpx.Response]


async def mocked(handler: Handler, kind: str = "openai") -> OpenAICompatProvider:
    provider = KINDS[kind][0]("up", settings_for(kind, "http://upstream.test/v1"))
    provider._transport = httpx.MockTransport(handler)
    return provider


def sse_body(*events: Any) -> bytes:
    return b"".join(
        b"data: " + (event if isinstance(event, bytes) else orjson.dumps(event)) + b"\n\n"
        for event in events
    )


def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return {"id": "c", "object": "chat.completion.chunk", "choices": [choice], **extra}


async def pieces(body: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def replying(status: int, body: bytes, headers: dict[str, str] | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers or SSE, content=pieces(body))

    return handler


async def mocked_chunks(body: bytes, headers: dict[str, str] | None = None) -> list[StreamChunk]:
    provider = await mocked(replying(200, body, headers))
    try:
        return [c async for c in stream_chunks(provider, chat(), "m")]
    finally:
        await provider.aclose()


async def test_gzip_encoded_stream_is_decoded() -> None:
    body = sse_body(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop"), b"[DONE]")
    headers = {**SSE, "content-encoding": "gzip"}
    chunks = await mocked_chunks(gzip.compress(body), headers)
    assert text_of(chunks) == "Hi"
    assert finish_reasons(chunks) == ["stop"]


async def test_role_is_added_to_a_first_delta_without_one() -> None:
    body = sse_body(chunk({"content": "Hi"}), chunk({"content": "!"}), chunk({}, "stop"))
    assert deltas(await mocked_chunks(body)) == [
        {"role": "assistant", "content": "Hi"},
        {"content": "!"},
        {},
    ]


async def test_done_without_finish_reason_and_finish_without_done_both_end_cleanly() -> None:
    done_only = sse_body(chunk({"role": "assistant", "content": "a"}), b"[DONE]")
    assert text_of(await mocked_chunks(done_only)) == "a"
    finish_only = sse_body(chunk({"role": "assistant", "content": "b"}, "length"))
    assert finish_reasons(await mocked_chunks(finish_only)) == ["length"]


async def test_error_after_a_usage_only_chunk_is_in_band() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}
    body = sse_body({"choices": [], "usage": usage}, {"error": {"message": "boom"}})
    provider = await mocked(replying(200, body))
    stream = stream_chunks(provider, chat(), "m")
    assert (await anext(stream)).usage == TokenUsage(1, 0)
    with pytest.raises(UpstreamProtocolError, match="boom") as info:
        await anext(stream)
    assert info.value.code == "upstream_stream_error"
    await provider.aclose()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ({"code": 429, "message": "slow down"}, 429),
        ({"code": "429", "message": "slow down"}, 429),
        ({"code": "server_error", "message": "slow down"}, 502),
        ({"code": True, "message": "slow down"}, 502),
        ("slow down", 502),
    ],
)
async def test_in_band_error_codes(error: Any, status: int) -> None:
    with pytest.raises(UpstreamStatusError, match="slow down") as info:
        await mocked_chunks(sse_body({"error": error}))
    assert info.value.upstream_status == status


async def test_choice_level_errors() -> None:
    failed = chunk({"content": ""}, "error")
    with pytest.raises(UpstreamStatusError, match="ended the answer with an error"):
        await mocked_chunks(sse_body(failed))
    body = {
        "choices": [{"index": 0, "error": {"message": "choice broke"}, "finish_reason": "stop"}]
    }
    provider = await mocked(replying(200, orjson.dumps(body), {"content-type": "application/json"}))
    with pytest.raises(UpstreamStatusError, match="choice broke"):
        await provider.complete(chat(), "m")
    await provider.aclose()


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"choices": []}',
        b'{"choices": [3]}',
        b'{"choices": {"index": 0}}',
        b'{"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "error"}]}',
    ],
)
async def test_complete_malformed(body: bytes) -> None:
    provider = await mocked(replying(200, body, {"content-type": "application/json"}))
    with pytest.raises(UpstreamError):
        await provider.complete(chat(), "m")
    await provider.aclose()


@pytest.mark.parametrize(
    "bad", [b"[1, 2]", b'"text"', b'{"choices": {"a": 1}}', b'{"choices": [1]}']
)
async def test_stream_events_that_are_not_chunks(bad: bytes) -> None:
    body = sse_body(chunk({"role": "assistant", "content": "a"}), bad, chunk({}, "stop"))
    with pytest.raises(UpstreamProtocolError):
        await mocked_chunks(body)


async def test_upstream_text_never_carries_the_key() -> None:
    message = f"Incorrect API key provided: {KEY}. Also sk-proj-****************abcd."
    body = orjson.dumps({"error": {"message": message, "code": "invalid_api_key"}})
    provider = await mocked(replying(401, body, {"content-type": "application/json"}))
    with pytest.raises(UpstreamStatusError) as info:
        await provider.complete(chat(), "m")
    assert KEY not in info.value.message
    assert "sk-proj" not in info.value.message
    assert "upstream answered 401: (message withheld: it quoted a credential)" in (
        info.value.message
    )
    await provider.aclose()
    with pytest.raises(UpstreamStatusError) as streamed:
        await mocked_chunks(sse_body({"error": {"message": message}}))
    assert KEY not in streamed.value.message


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"data": {}}', b'{"object": "list"}'])
async def test_list_models_malformed(body: bytes) -> None:
    provider = await mocked(replying(200, body, {"content-type": "application/json"}))
    with pytest.raises(UpstreamProtocolError):
        await provider.list_models()
    await provider.aclose()


async def test_list_models_skips_entries_without_an_id() -> None:
    body = orjson.dumps(
        {"data": [{"id": "a"}, {"id": ""}, {"id": 3}, {"name": "b"}, 4, {"id": "c"}]}
    )
    provider = await mocked(replying(200, body, {"content-type": "application/json"}))
    assert await provider.list_models() == ["a", "c"]
    await provider.aclose()


@pytest.mark.parametrize("status", [204, 301])
async def test_probe_needs_a_200(status: int) -> None:
    provider = await mocked(replying(status, b"", {"content-type": "application/json"}))
    with pytest.raises(UpstreamProtocolError):
        await provider.probe()
    await provider.aclose()
