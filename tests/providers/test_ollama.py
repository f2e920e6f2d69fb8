import random
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import orjson
import pytest

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import (
    InvalidRequest,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from quart_llm.providers.answers import StreamChunk, TokenUsage
from quart_llm.providers.ollama import OllamaProvider
from quart_llm.providers.ollama_payload import build_payload
from quart_llm.providers.token_estimates import estimate_prompt_tokens, estimate_text_tokens
from quart_llm.schemas.chat_request import ChatRequest
from tests.providers.streams import stream_chunks

BASE_URL = "http://ollama.test:11434"
NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json; charset=utf-8"}
PNG = "iVBORw0KGgoAAAANSUhEUg=="

Handler = Callable[[httpx.Request], httpx.Response]
MakeProvider = Callable[..., OllamaProvider]


@pytest.fixture
async def make_provider() -> AsyncIterator[MakeProvider]:
    made: list[OllamaProvider] = []

    def make(handler: Handler, **options: Any) -> OllamaProvider:
        settings = ProviderSettings.model_validate(
            {"kind": "ollama", "base_url": BASE_URL, "options": options}
        )
        provider = OllamaProvider("local", settings)
        provider._transport = httpx.MockTransport(handler)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


def chat(**fields: Any) -> ChatRequest:
    body: dict[str, Any] = {
        "model": "ollama/llama3.2",
        "messages": [{"role": "user", "content": "Hi"}],
    }
    body.update(fields)
    return ChatRequest.model_validate(body)


def line(
    content: str = "",
    *,
    thinking: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    done: bool = False,
    **extra: Any,
) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    value = {"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z", "message": message}
    return orjson.dumps({**value, "done": done, **extra}) + b"\n"


def final(done_reason: str = "stop", **metrics: Any) -> bytes:
    metrics = {"prompt_eval_count": 26, "eval_count": 3, **metrics}
    metrics = {key: value for key, value in metrics.items() if value is not None}
    return line(done=True, done_reason=done_reason, total_duration=5, **metrics)


async def pieces(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def streaming(
    body: bytes | list[bytes], headers: dict[str, str] | None = None, status: int = 200
) -> Handler:
    chunks = [body] if isinstance(body, bytes) else body

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers or NDJSON, content=pieces(chunks))

    return handler


def answering(status: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    content = body if isinstance(body, bytes) else orjson.dumps(body)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers or JSON, content=pieces([content]))

    return handler


def recording(into: list[httpx.Request], handler: Handler) -> Handler:
    def record(request: httpx.Request) -> httpx.Response:
        into.append(request)
        return handler(request)

    return record


async def collect(
    provider: OllamaProvider, request: ChatRequest | None = None
) -> list[StreamChunk]:
    return [chunk async for chunk in stream_chunks(provider, request or chat(), "llama3.2")]


def deltas(chunks: list[StreamChunk]) -> list[dict[str, Any]]:
    return [chunk.choices[0]["delta"] for chunk in chunks]


def text_of(chunks: list[StreamChunk]) -> str:
    return "".join(delta.get("content", "") for delta in deltas(chunks))


# Request mapping


def test_payload_maps_every_option() -> None:
    request = chat(
        temperature=0.3,
        top_p=0.9,
        seed=7,
        stop="\n\n",
        max_tokens=64,
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        top_k=40,
        min_p=0.05,
        repetition_penalty=1.1,
        user="someone",
        stream=True,
    )
    assert build_payload(request, "llama3.2", stream=True) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "options": {
            "temperature": 0.3,
            "top_p": 0.9,
            "seed": 7,
            "presence_penalty": 0.5,
            "frequency_penalty": -0.5,
            "top_k": 40,
            "min_p": 0.05,
            "repeat_penalty": 1.1,
            "stop": ["\n\n"],
            "num_predict": 64,
        },
    }


def test_payload_sends_only_set_options_and_always_stream() -> None:
    assert build_payload(chat(), "m", stream=False) == {
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    payload = build_payload(
        chat(max_tokens=10, max_completion_tokens=20, stop=["a", "b"]), "m", stream=True
    )
    assert payload["stream"] is True
    assert payload["options"] == {"num_predict": 20, "stop": ["a", "b"]}
    assert build_payload(chat(temperature=0.0), "m", stream=True)["options"] == {"temperature": 0.0}


@pytest.mark.parametrize(
    ("response_format", "expected"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, "json"),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "city",
                    "schema": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "default": None}},
                    },
                },
            },
            {"type": "object", "properties": {"name": {"type": "string", "default": None}}},
        ),
        ({"type": "json_schema", "json_schema": {"name": "any"}}, "json"),
    ],
)
def test_payload_format(response_format: dict[str, Any], expected: Any) -> None:
    payload = build_payload(chat(response_format=response_format), "m", stream=False)
    assert payload.get("format") == expected


def test_payload_roles_and_content_parts() -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {
                "role": "developer",
                "content": [{"type": "text", "text": "Use "}, {"type": "text", "text": "French."}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is "},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                    {"type": "text", "text": "this?"},
                    {"type": "image_url", "image_url": {"url": "DATA:image/jpeg;BASE64,/9j/4AAQ"}},
                ],
            },
            {"role": "assistant", "content": "A cat."},
        ]
    )
    assert build_payload(request, "m", stream=True)["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Use French."},
        {"role": "user", "content": "What is this?", "images": [PNG, "/9j/4AAQ"]},
        {"role": "assistant", "content": "A cat."},
    ]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://example.com/cat.png", "unsupported_image_url"),
        ("http://example.com/cat.png", "unsupported_image_url"),
        ("data:image/png,rawbytes", "invalid_image_url"),
        ("data:text/plain;base64,aGk=", "invalid_image_url"),
        ("data:image/png;base64,", "invalid_image_url"),
    ],
)
def test_payload_refuses_images_that_are_not_inline(url: str, code: str) -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "x"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]},
        ]
    )
    with pytest.raises(InvalidRequest) as info:
        build_payload(request, "m", stream=True)
    assert info.value.status == 400
    assert info.value.param == "messages[1].content"
    assert info.value.code == code
    if code == "unsupported_image_url":
        assert "data URL" in info.value.message


def tool_conversation(arguments: str = '{"city": "Tokyo", "days": [1, 2]}') -> ChatRequest:
    return chat(
        messages=[
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": arguments},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "now", "arguments": ""},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {
                "role": "tool",
                "tool_call_id": "call_unknown",
                "content": [{"type": "text", "text": "?"}],
            },
        ],
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather by city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
            }
        ],
    )


def test_payload_tool_calls_and_results() -> None:
    payload = build_payload(tool_conversation(), "m", stream=True)
    assert payload["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "function": {
                        "name": "get_weather",
                        "arguments": {"city": "Tokyo", "days": [1, 2]},
                    },
                },
                {"id": "call_2", "function": {"name": "now", "arguments": {}}},
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1", "tool_name": "get_weather"},
        {"role": "tool", "content": "?", "tool_call_id": "call_unknown"},
    ]
    assert payload["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]


def test_payload_drops_tools_when_tool_choice_is_none() -> None:
    request = tool_conversation().model_copy(update={"tool_choice": "none"})
    assert "tools" not in build_payload(request, "m", stream=True)


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", '"text"'])
def test_payload_refuses_arguments_that_are_not_an_object(arguments: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        build_payload(tool_conversation(arguments), "m", stream=True)
    assert info.value.param == "messages[1].tool_calls[0].function.arguments"


# Unsupported fields


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"logprobs": True}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
        ({"n": 2}, "n"),
        ({"parallel_tool_calls": False}, "parallel_tool_calls"),
        ({"service_tier": "flex"}, "service_tier"),
        ({"store": True}, "store"),
        ({"metadata": {"a": "b"}}, "metadata"),
        ({"reasoning_effort": "low"}, "reasoning_effort"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": {"type": "function", "function": {"name": "f"}}}, "tool_choice"),
    ],
)
async def test_unsupported_fields_are_refused(
    make_provider: MakeProvider, fields: dict[str, Any], param: str
) -> None:
    if "tool_choice" in fields:
        fields["tools"] = [{"type": "function", "function": {"name": "f"}}]
    provider = make_provider(answering(500, {}))
    with pytest.raises(InvalidRequest) as info:
        provider.check_supported(chat(**fields))
    assert info.value.status == 400
    assert info.value.param == param
    assert info.value.code == "unsupported_parameter"
    assert "local" in info.value.message


async def test_default_values_of_unsupported_fields_pass(make_provider: MakeProvider) -> None:
    provider = make_provider(answering(500, {}))
    provider.check_supported(
        chat(
            n=1,
            logprobs=False,
            store=False,
            parallel_tool_calls=True,
            user="u",
            tools=[{"type": "function", "function": {"name": "f"}}],
            tool_choice="auto",
        )
    )
    provider.check_supported(chat(tool_choice="none"))


# Streaming


HELLO_STREAM = line("Hel") + line("lo \u2028 caf\u00e9") + line("") + line(" \U0001f600") + final()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, len(HELLO_STREAM)])
async def test_stream_survives_any_chunking(make_provider: MakeProvider, size: int) -> None:
    cut = [HELLO_STREAM[i : i + size] for i in range(0, len(HELLO_STREAM), size)]
    chunks = await collect(make_provider(streaming(cut)))
    assert deltas(chunks) == [
        {"role": "assistant", "content": "Hel"},
        {"content": "lo \u2028 caf\u00e9"},
        {"content": " \U0001f600"},
        {},
    ]
    assert all(chunk.choices[0]["finish_reason"] is None for chunk in chunks[:-1])
    assert chunks[-1].choices == [
        {"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}
    ]
    assert chunks[-1].usage == TokenUsage(26, 3)
    assert all(chunk.usage is None for chunk in chunks[:-1])


async def test_stream_random_boundaries_and_crlf(make_provider: MakeProvider) -> None:
    body = HELLO_STREAM.replace(b"\n", b"\r\n") + b"\n\n"
    rng = random.Random(2028)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(body)), 12))
        cut = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert text_of(await collect(make_provider(streaming(cut)))) == (
            "Hello \u2028 caf\u00e9 \U0001f600"
        )


async def test_stream_request_is_native_and_explicit(make_provider: MakeProvider) -> None:
    sent: list[httpx.Request] = []
    provider = make_provider(recording(sent, streaming(final())))
    await collect(provider, chat(temperature=0.2))
    (request,) = sent
    assert request.method == "POST"
    assert request.url == f"{BASE_URL}/api/chat"
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.headers["content-type"] == "application/json"
    assert orjson.loads(request.content) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "options": {"temperature": 0.2},
    }


async def test_stream_thinking_becomes_reasoning(make_provider: MakeProvider) -> None:
    body = line(thinking="Let me") + line(thinking=" think.") + line("Yes.") + final()
    assert deltas(await collect(make_provider(streaming(body)))) == [
        {"role": "assistant", "reasoning": "Let me"},
        {"reasoning": " think."},
        {"content": "Yes."},
        {},
    ]


async def test_stream_tool_calls(make_provider: MakeProvider) -> None:
    body = (
        line(
            tool_calls=[
                {
                    "id": "call_ab12",
                    "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Tokyo"}},
                }
            ]
        )
        + line(tool_calls=[{"function": {"name": "now", "arguments": {}}}])
        + final()
    )
    chunks = await collect(make_provider(streaming(body)))
    first, second, end = deltas(chunks)
    assert first == {
        "role": "assistant",
        "tool_calls": [
            {
                "index": 0,
                "id": "call_ab12",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
            }
        ],
    }
    (call,) = second["tool_calls"]
    assert call["index"] == 1
    assert call["id"].startswith("call_")
    assert len(call["id"]) > len("call_")
    assert call["function"] == {"name": "now", "arguments": "{}"}
    assert end == {}
    assert chunks[-1].choices[0]["finish_reason"] == "tool_calls"


async def test_stream_tool_call_without_name_is_a_protocol_error(
    make_provider: MakeProvider,
) -> None:
    body = line(tool_calls=[{"function": {"arguments": {}}}]) + final()
    with pytest.raises(UpstreamProtocolError):
        await collect(make_provider(streaming(body)))


@pytest.mark.parametrize(
    ("done_reason", "finish_reason"),
    [("stop", "stop"), ("length", "length"), ("load", "stop"), ("unload", "stop"), (None, "stop")],
)
async def test_stream_done_reason(
    make_provider: MakeProvider, done_reason: str | None, finish_reason: str
) -> None:
    extra: dict[str, Any] = {} if done_reason is None else {"done_reason": done_reason}
    body = line("x") + line(done=True, eval_count=1, **extra)
    chunks = await collect(make_provider(streaming(body)))
    assert chunks[-1].choices[0]["finish_reason"] == finish_reason


async def test_stream_missing_metric_counts_as_zero(make_provider: MakeProvider) -> None:
    body = line("cached") + final(prompt_eval_count=None, eval_count=5)
    assert (await collect(make_provider(streaming(body))))[-1].usage == TokenUsage(0, 5)


async def test_stream_missing_metrics_are_estimated(make_provider: MakeProvider) -> None:
    request = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Tell me about the sky."},
        ]
    )
    body = line(thinking="Hmm.") + line("The sky") + line(" is blue.") + line(done=True)
    usage = (await collect(make_provider(streaming(body)), request))[-1].usage
    assert usage == TokenUsage(
        estimate_prompt_tokens(request.messages),
        estimate_text_tokens("Hmm.The sky is blue."),
        estimated=True,
    )
    assert usage.to_wire()["estimated"] is True


async def test_stream_content_on_the_done_line_is_kept(make_provider: MakeProvider) -> None:
    body = line("All", done=True, done_reason="stop", eval_count=1)
    chunks = await collect(make_provider(streaming(body)))
    assert deltas(chunks) == [{"role": "assistant", "content": "All"}, {}]


async def test_stream_empty_answer_still_sends_the_role(make_provider: MakeProvider) -> None:
    chunks = await collect(make_provider(streaming(final(eval_count=None))))
    assert deltas(chunks) == [{"role": "assistant", "content": ""}, {}]
    assert chunks[-1].choices[0]["finish_reason"] == "stop"


async def test_stream_stops_reading_after_done(make_provider: MakeProvider) -> None:
    body = line("ok") + final() + b"not json at all\n" + b'{"error":"late"}\n'
    assert text_of(await collect(make_provider(streaming(body)))) == "ok"


async def test_stream_error_before_content_is_a_status_error(make_provider: MakeProvider) -> None:
    message = "model requires more system memory " + "x" * 1000
    body = orjson.dumps({"error": message}) + b"\n"
    with pytest.raises(UpstreamStatusError) as info:
        await collect(make_provider(streaming(body)))
    assert info.value.upstream_status == 502
    assert info.value.status == 502
    assert "model requires more system memory" in info.value.message
    assert len(info.value.detail) < 600


async def test_stream_error_after_content_is_a_protocol_error(make_provider: MakeProvider) -> None:
    body = line(" Yes") + b'{"error":"an error was encountered while running the model"}\n'
    stream = stream_chunks(make_provider(streaming(body)), chat(), "llama3.2")
    received = [await anext(stream)]
    with pytest.raises(UpstreamProtocolError) as info:
        await anext(stream)
    assert text_of(received) == " Yes"
    assert info.value.status == 502
    assert "an error was encountered while running the model" in info.value.message
    assert "mid-stream" in info.value.message
    assert info.value.code == "upstream_stream_error"


async def test_json_stream_with_an_error_line_is_accepted(make_provider: MakeProvider) -> None:
    handler = streaming(b'{"error":"unexpected EOF"}', headers=JSON)
    with pytest.raises(UpstreamStatusError, match="unexpected EOF"):
        await collect(make_provider(handler))


@pytest.mark.parametrize("bad", [b"{not json", b"[1, 2]", b'"text"', b'{"message": "text"}'])
async def test_stream_malformed_line(make_provider: MakeProvider, bad: bytes) -> None:
    body = line("a") + bad + b"\n" + final()
    with pytest.raises(UpstreamProtocolError):
        await collect(make_provider(streaming(body)))


async def test_stream_eof_without_done(make_provider: MakeProvider) -> None:
    with pytest.raises(UpstreamProtocolError, match="ended before it was complete"):
        await collect(make_provider(streaming(line("The") + line(" sky"))))
    with pytest.raises(UpstreamProtocolError, match="ended before it was complete"):
        await collect(make_provider(streaming(b"")))


async def test_stream_line_too_long(make_provider: MakeProvider) -> None:
    provider = make_provider(streaming(line("x" * 500) + final()), max_line_bytes=256)
    with pytest.raises(UpstreamProtocolError, match="too long"):
        await collect(provider)


async def test_stream_unterminated_done_line_is_accepted(make_provider: MakeProvider) -> None:
    body = line("ok") + final().rstrip(b"\n")
    assert text_of(await collect(make_provider(streaming(body)))) == "ok"


async def test_stream_can_be_left_early(make_provider: MakeProvider) -> None:
    stream = stream_chunks(make_provider(streaming(HELLO_STREAM)), chat(), "llama3.2")
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    assert first.choices[0]["delta"]["content"] == "Hel"
    await stream.aclose()


# Upstream status answers (streamed and whole)


async def ask(provider: OllamaProvider, *, streamed: bool) -> None:
    if streamed:
        await collect(provider)
    else:
        await provider.complete(chat(), "llama3.2")


def not_found(status: int = 404) -> Handler:
    return answering(status, {"error": "model 'llama9' not found"})


@pytest.mark.parametrize("streamed", [True, False])
async def test_model_not_found_is_404(make_provider: MakeProvider, streamed: bool) -> None:
    provider = make_provider(not_found())
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, streamed=streamed)
    assert info.value.status == 404
    assert info.value.code == "model_not_found"
    assert "model 'llama9' not found" in info.value.message


@pytest.mark.parametrize("streamed", [True, False])
async def test_429_keeps_retry_after(make_provider: MakeProvider, streamed: bool) -> None:
    provider = make_provider(answering(429, {"error": "busy"}, {**JSON, "Retry-After": "7"}))
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, streamed=streamed)
    assert info.value.status == 429
    assert info.value.headers == {"Retry-After": "7"}


@pytest.mark.parametrize("streamed", [True, False])
async def test_html_500(make_provider: MakeProvider, streamed: bool) -> None:
    html = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
    provider = make_provider(answering(500, html, {"content-type": "text/html"}))
    with pytest.raises(UpstreamStatusError) as info:
        await ask(provider, streamed=streamed)
    assert info.value.status == 502
    assert info.value.message.endswith("upstream answered 500: HTTP 500")
    assert "<html>" not in info.value.message


@pytest.mark.parametrize("streamed", [True, False])
async def test_wrong_content_type(make_provider: MakeProvider, streamed: bool) -> None:
    provider = make_provider(streaming(final(), headers={"content-type": "text/html"}))
    with pytest.raises(UpstreamProtocolError, match="unexpected content type 'text/html'"):
        await ask(provider, streamed=streamed)


async def test_connection_refused(make_provider: MakeProvider) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(UpstreamConnectError):
        await collect(make_provider(refuse))


# Whole answers


def whole(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "model": "llama3.2",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", **message},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 26,
        "eval_count": 298,
        **extra,
    }


async def test_complete(make_provider: MakeProvider) -> None:
    sent: list[httpx.Request] = []
    answer = whole({"content": "Hello! \u2028 How are you?", "thinking": "Greet."})
    provider = make_provider(recording(sent, answering(200, answer)))
    completion = await provider.complete(chat(max_completion_tokens=5), "llama3.2")
    assert completion.choices == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! \u2028 How are you?",
                "reasoning": "Greet.",
            },
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    assert completion.usage == TokenUsage(26, 298)
    (request,) = sent
    assert orjson.loads(request.content)["stream"] is False
    assert orjson.loads(request.content)["options"] == {"num_predict": 5}
    assert request.headers["accept"] == "application/json"
    # Only connecting is timed by the transport: the request's deadline times the answer.
    assert request.extensions["timeout"]["read"] is None
    assert request.extensions["timeout"]["connect"] == provider.settings.timeouts.connect


async def test_complete_tool_calls(make_provider: MakeProvider) -> None:
    answer = whole(
        {
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        }
    )
    completion = await make_provider(answering(200, answer)).complete(chat(), "llama3.2")
    (choice,) = completion.choices
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    (call,) = message["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert "index" not in call


async def test_complete_length_and_estimated_usage(make_provider: MakeProvider) -> None:
    answer = whole(
        {"content": "abcdefgh"}, done_reason="length", prompt_eval_count=None, eval_count=None
    )
    completion = await make_provider(answering(200, answer)).complete(chat(), "llama3.2")
    assert completion.choices[0]["finish_reason"] == "length"
    assert completion.usage == TokenUsage(
        estimate_prompt_tokens(chat().messages), 2, estimated=True
    )


async def test_complete_error_body_with_200(make_provider: MakeProvider) -> None:
    provider = make_provider(answering(200, {"error": "runner crashed"}))
    with pytest.raises(UpstreamStatusError, match="runner crashed") as info:
        await provider.complete(chat(), "llama3.2")
    # The pipeline's one in-band rule: an error without a status of its own is a 502.
    assert info.value.upstream_status == 502
    assert info.value.status == 502


@pytest.mark.parametrize("body", [b"{truncated", b"[]", b'{"message": 3, "done": true}'])
async def test_complete_malformed(make_provider: MakeProvider, body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        await make_provider(answering(200, body)).complete(chat(), "llama3.2")


async def test_complete_refuses_an_oversized_answer(make_provider: MakeProvider) -> None:
    provider = make_provider(answering(200, whole({"content": "x" * 600})), max_line_bytes=256)
    with pytest.raises(UpstreamProtocolError, match="exceeds 256 bytes"):
        await provider.complete(chat(), "llama3.2")


async def test_complete_refuses_bad_requests_before_any_io(make_provider: MakeProvider) -> None:
    sent: list[httpx.Request] = []
    provider = make_provider(recording(sent, answering(200, whole({"content": "x"}))))
    request = chat(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
                ],
            }
        ]
    )
    with pytest.raises(InvalidRequest):
        await provider.complete(request, "llama3.2")
    with pytest.raises(InvalidRequest):
        await collect(provider, request)
    assert sent == []


# Models and liveness


async def test_list_models(make_provider: MakeProvider) -> None:
    sent: list[httpx.Request] = []
    tags = {
        "models": [
            {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189},
            {"name": "qwen3:8b"},
            {"model": "mistral:7b", "name": ""},
        ]
    }
    provider = make_provider(recording(sent, answering(200, tags)))
    assert await provider.list_models() == ["llama3.2:latest", "qwen3:8b", "mistral:7b"]
    assert sent[0].url == f"{BASE_URL}/api/tags"


@pytest.mark.parametrize("body", [{"models": None}, {}, {"models": []}])
async def test_list_models_empty(make_provider: MakeProvider, body: dict[str, Any]) -> None:
    assert await make_provider(answering(200, body)).list_models() == []


@pytest.mark.parametrize(
    "body",
    [b"{nope", b"[]", b'{"models": {}}', b'{"models": [{"size": 1}]}', b'{"models": [3]}'],
)
async def test_list_models_malformed(make_provider: MakeProvider, body: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        await make_provider(answering(200, body)).list_models()


async def test_list_models_upstream_error(make_provider: MakeProvider) -> None:
    with pytest.raises(UpstreamStatusError) as info:
        await make_provider(answering(503, {"error": "loading"})).list_models()
    assert info.value.status == 503


async def test_probe(make_provider: MakeProvider) -> None:
    sent: list[httpx.Request] = []
    running = answering(200, b"Ollama is running", {"content-type": "text/plain; charset=utf-8"})
    provider = make_provider(recording(sent, running))
    await provider.probe()
    (request,) = sent
    assert request.method == "GET"
    assert request.url == f"{BASE_URL}/"
    assert request.extensions["timeout"]["read"] == provider.settings.timeouts.connect


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, UpstreamStatusError),
        (404, UpstreamStatusError),
        (204, UpstreamProtocolError),
        (301, UpstreamProtocolError),
    ],
)
async def test_probe_failures(
    make_provider: MakeProvider, status: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await make_provider(answering(status, b"")).probe()


def test_max_line_bytes_must_be_positive() -> None:
    settings = ProviderSettings.model_validate(
        {"kind": "ollama", "base_url": BASE_URL, "options": {"max_line_bytes": 0}}
    )
    with pytest.raises(ValueError, match="max_line_bytes"):
        OllamaProvider("local", settings)
