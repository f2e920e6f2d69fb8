"""The OpenAI / OpenRouter simulator speaks PROTOCOLS sections 2, 4 and 5, faults included."""

import re
import time
from typing import Any

import httpx
import orjson
import pytest

from . import OpenAICompatSimulator, Scenario, SimulatorConfig
from .decoding import SSEParse, parse_sse
from .helpers import USER_MESSAGES, Capture, capture, scenario_headers

SHORT_READ = httpx.Timeout(5.0, read=0.2)
FAULT_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError)
PROCESSING = "OPENROUTER PROCESSING"
COVERED: set[Scenario] = set()
TEXT = "".join(SimulatorConfig().tokens)


def covers(*scenarios: Scenario) -> list[Scenario]:
    COVERED.update(scenarios)
    return list(scenarios)


async def chat(
    http: httpx.AsyncClient,
    sim: OpenAICompatSimulator,
    scenario: str | None = None,
    *,
    stream: bool,
    model: str = "gpt-4o-mini",
    path: str = "/v1/chat/completions",
    timeout: httpx.Timeout | None = None,
    **extra: Any,
) -> Capture:
    body: dict[str, Any] = {"model": model, "messages": USER_MESSAGES, **extra}
    if stream:
        body["stream"] = True
    headers = scenario_headers(scenario) if scenario else None
    url = f"{sim.base_url}{path}"
    return await capture(http, "POST", url, json=body, headers=headers, timeout=timeout)


def sse_frames_only(body: bytes, eol: bytes = b"\n") -> bool:
    frame = rb"(?:data: |: )[^\r\n]*" + re.escape(eol * 2)
    return re.fullmatch(rb"(?:" + frame + rb")*", body) is not None


def chunks_of(parsed: SSEParse) -> list[dict[str, Any]]:
    return [event.json() for event in parsed.events if event.data != "[DONE]"]


def content_of(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for chunk in chunks
        for choice in chunk.get("choices", [])
    )


def single(result: Capture, sim: OpenAICompatSimulator) -> Any:
    if sim.openrouter:
        assert result.body.startswith(b"\n") and result.body[:3].isspace()
    return orjson.loads(result.body)


@pytest.mark.parametrize("include_usage", [False, True])
async def test_normal_stream_wire_format(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, include_usage: bool
) -> None:
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if include_usage else {}
    result = await chat(http, compat, stream=True, **options)
    assert result.status == 200 and sse_frames_only(result.body)
    assert all(sse_frames_only(chunk) for chunk in result.chunks)
    parsed = parse_sse(result.body)
    assert not parsed.dropped and parsed.events[-1].data == "[DONE]"
    chunks = chunks_of(parsed)
    assert {(chunk["id"], chunk["created"]) for chunk in chunks} == {
        (chunks[0]["id"], chunks[0]["created"])
    }
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert content_of(chunks) == TEXT
    with_choices = [chunk for chunk in chunks if chunk["choices"]]
    closing = with_choices[-1]["choices"][0]
    assert (closing["delta"], closing["finish_reason"]) == ({}, "stop")
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in with_choices[:-1])
    usage_chunks = [chunk for chunk in chunks if not chunk["choices"]]
    if compat.openrouter:
        assert result.headers["content-type"] == "text/event-stream"
        assert result.headers["x-generation-id"] == chunks[0]["id"]
        assert chunks[0]["id"].startswith("gen-") and chunks[0]["provider"] == "Simulated"
        assert result.body.startswith(b": OPENROUTER PROCESSING\n\n") and parsed.comments == [
            PROCESSING
        ]
        assert closing["native_finish_reason"] == "stop"
        assert usage_chunks[0]["usage"]["cost"] > 0
    else:
        assert result.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert result.headers["cache-control"] == "no-cache, must-revalidate"
        assert result.headers["x-request-id"].startswith("req_")
        assert chunks[0]["id"].startswith("chatcmpl-") and parsed.comments == []
        assert all(("usage" in chunk) is include_usage for chunk in with_choices)
    assert len(usage_chunks) == (1 if include_usage or compat.openrouter else 0)
    assert chunks[-1] == usage_chunks[-1] if usage_chunks else chunks[-1]["choices"]
    if usage_chunks:
        usage = usage_chunks[0]["usage"]
        assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
            8,
            8,
            16,
        )


async def test_non_stream_completion(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient
) -> None:
    result = await chat(http, compat, stream=False)
    assert result.headers["content-type"] == "application/json"
    reply = single(result, compat)
    assert reply["object"] == "chat.completion"
    [choice] = reply["choices"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"] == TEXT
    assert choice["finish_reason"] == "stop" and reply["usage"]["total_tokens"] == 16
    if compat.openrouter:
        assert result.headers["x-generation-id"] == reply["id"] and reply["id"].startswith("gen-")
        assert choice["native_finish_reason"] == "stop" and "cost" in reply["usage"]
    else:
        assert reply["id"].startswith("chatcmpl-") and choice["message"]["annotations"] == []


async def test_openrouter_prefix_and_models(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    prefixed = await chat(http, compat, stream=False, path="/api/v1/chat/completions")
    assert single(prefixed, compat)["choices"][0]["message"]["content"] == TEXT
    for path in ("/v1/models", "/api/v1/models"):
        listing = (await http.get(f"{compat.base_url}{path}")).json()
        assert [model["id"] for model in listing["data"]] == config.known_models
        if compat.openrouter:
            assert list(listing) == ["data"] and "object" not in listing["data"][0]
            assert listing["data"][0]["pricing"] == {"prompt": "0.000001", "completion": "0.000002"}
            assert listing["data"][0]["architecture"]["modality"] == "text->text"
        else:
            assert listing["object"] == "list"
            assert set(listing["data"][0]) == {"id", "object", "created", "owned_by"}
    missing = await http.get(f"{compat.base_url}/v1/nothing")
    assert missing.status_code == 404 and "error" in missing.json()


@pytest.mark.parametrize(
    ("limits", "content"),
    [
        ({"max_tokens": 3}, "Hello! The"),
        ({"max_completion_tokens": 2}, "Hello!"),
        ({"max_tokens": 5, "max_completion_tokens": 1}, "Hello"),
    ],
)
async def test_length_limits(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, limits: dict[str, Any], content: str
) -> None:
    result = await chat(http, compat, stream=True, stop=["\n"], **limits)
    chunks = chunks_of(parse_sse(result.body))
    assert content_of(chunks) == content
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    reply = single(await chat(http, compat, stream=False, **limits), compat)
    assert (reply["choices"][0]["message"]["content"], reply["choices"][0]["finish_reason"]) == (
        content,
        "length",
    )
    assert compat.requests[0].json["stop"] == ["\n"]


async def test_unknown_fields_and_images_are_recorded(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient
) -> None:
    image = "data:image/png;base64,aGVsbG8="
    parts = [
        {"type": "text", "text": "what is it"},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": parts}],
        "provider": {"order": ["x"]},
        "transforms": [],
        "frobnicate": 1,
    }
    response = await http.post(f"{compat.base_url}/v1/chat/completions", json=body)
    assert response.status_code == 200
    [request] = compat.requests
    assert request.images == [image] and request.json == body
    expected = ["frobnicate"] if compat.openrouter else ["provider", "transforms", "frobnicate"]
    assert request.unknown_fields == expected


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {}),
        (b"[]", {}),
        (b'{"messages":[{"role":"user","content":"x"}]}', {}),
        (b'{"model":"gpt-4o-mini"}', {}),
        (
            b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}',
            {"X-Simulator-Scenario": "nope"},
        ),
    ],
)
async def test_bad_requests_get_400_in_the_flavor_shape(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    url = f"{compat.base_url}/v1/chat/completions"
    response = await http.post(url, content=content, headers=headers)
    error = response.json()["error"]
    assert response.status_code == 400
    if compat.openrouter:
        assert error["code"] == 400 and isinstance(error["message"], str)
    else:
        assert list(error) == ["message", "type", "param", "code"]
        assert error["type"] == "invalid_request_error"


async def test_api_key_and_model_checks(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient
) -> None:
    compat.config.api_key = "sk-test"
    missing = await chat(http, compat, stream=True)
    http.headers["Authorization"] = "Bearer sk-wrong"
    wrong = await chat(http, compat, stream=True)
    http.headers["Authorization"] = "Bearer sk-test"
    allowed = await chat(http, compat, stream=True)
    unknown = await chat(http, compat, stream=True, model="gpt-9")
    named = await chat(http, compat, stream=False, model="openrouter-ish/paced:free")
    assert (missing.status, wrong.status, allowed.status, unknown.status) == (401, 401, 200, 404)
    assert named.status == 200 and compat.requests[-1].scenario == "paced"
    error = orjson.loads(unknown.body)["error"]
    if compat.openrouter:
        assert orjson.loads(missing.body) == {
            "error": {"code": 401, "message": "Missing Authentication header"}
        }
        assert error == {"code": 404, "message": "No endpoints found for gpt-9."}
        assert unknown.headers["x-generation-id"].startswith("gen-")
    else:
        assert orjson.loads(wrong.body)["error"]["code"] == "invalid_api_key"
        assert error == {
            "message": "The model 'gpt-9' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    "scenario", covers(Scenario.NORMAL, Scenario.PACED, Scenario.PROCESSING_COMMENTS)
)
async def test_plain_scenarios_complete_normally(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, compat, scenario, stream=stream)
    assert compat.requests[-1].scenario == scenario
    if not stream:
        assert single(result, compat)["choices"][0]["message"]["content"] == TEXT
        return
    parsed = parse_sse(result.body)
    assert content_of(chunks_of(parsed)) == TEXT and parsed.events[-1].data == "[DONE]"
    if scenario is Scenario.PACED:
        assert result.arrivals[-1] - result.arrivals[0] >= 0.7 * config.token_interval * 10
    if scenario is Scenario.PROCESSING_COMMENTS:
        frames = result.body.split(b"\n\n")[:-1]
        leading = 3 + int(compat.openrouter)
        assert frames[:leading] == [b": OPENROUTER PROCESSING"] * leading
        data_at = [index for index, frame in enumerate(frames) if frame.startswith(b"data: ")]
        assert all(frames[index + 1].startswith(b": ") for index in data_at[:-1])
        assert len(parsed.comments) == leading + len(data_at) - 1


@pytest.mark.parametrize("scenario", covers(Scenario.SLOW_FIRST_TOKEN))
async def test_slow_first_token_streams(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
) -> None:
    config.first_token_delay = 0.6
    result = await chat(http, compat, scenario, stream=True)
    assert result.headers_at - result.started < 0.2
    first_data = next(i for i, chunk in enumerate(result.chunks) if chunk.startswith(b"data: "))
    assert result.arrivals[first_data] - result.started >= 0.57
    before = result.chunks[:first_data]
    expected = [b": OPENROUTER PROCESSING\n\n"] * 2 if compat.openrouter else []
    assert before == expected
    if compat.openrouter:
        assert 0.4 < result.arrivals[1] - result.arrivals[0] < 0.6


@pytest.mark.parametrize("scenario", covers(Scenario.SLOW_FIRST_TOKEN))
async def test_slow_first_token_single(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
) -> None:
    result = await chat(http, compat, scenario, stream=False)
    waited = result.headers_at - result.started
    assert waited < 0.2 if compat.openrouter else waited >= config.first_token_delay * 0.95
    assert result.arrivals[-1] - result.started >= config.first_token_delay * 0.95
    assert single(result, compat)["choices"][0]["message"]["content"] == TEXT


FIXED: list[tuple[Scenario, int, str]] = [
    (Scenario.ERROR_BEFORE_STREAM, 500, "application/json"),
    (Scenario.RATE_LIMITED, 429, "application/json"),
    (Scenario.UNKNOWN_MODEL, 404, "application/json"),
    (Scenario.UNAUTHORIZED, 401, "application/json"),
    (Scenario.HTML_500, 500, "text/html"),
    (Scenario.WRONG_CONTENT_TYPE, 200, "text/html; charset=utf-8"),
]
covers(*(row[0] for row in FIXED))


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("scenario", "status", "content_type"), FIXED)
async def test_fixed_replies(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    scenario: Scenario,
    status: int,
    content_type: str,
    stream: bool,
) -> None:
    result = await chat(http, compat, scenario, stream=stream)
    assert (result.status, result.headers["content-type"]) == (status, content_type)
    if content_type.startswith("text/html"):
        assert result.body.lower().startswith((b"<html", b"<!doctype html"))
        return
    error = orjson.loads(result.body)["error"]
    if compat.openrouter:
        assert error["code"] == status and isinstance(error["message"], str)
    else:
        assert list(error) == ["message", "type", "param", "code"]
    if scenario is not Scenario.RATE_LIMITED:
        return
    assert result.headers["retry-after"] == "7"
    if compat.openrouter:
        reset = int(result.headers["x-ratelimit-reset"])
        assert abs(reset - (time.time() + 7) * 1000) < 5000
        assert (result.headers["x-ratelimit-limit"], result.headers["x-ratelimit-remaining"]) == (
            "20",
            "0",
        )
        assert error["metadata"]["headers"] == {
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
    else:
        assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
        assert result.headers["x-ratelimit-remaining-requests"] == "0"


@pytest.mark.parametrize("scenario", covers(Scenario.ERROR_MID_STREAM))
async def test_error_mid_stream(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, compat, scenario, stream=True)
    parsed = parse_sse(result.body)
    assert result.status == 200 and result.error is None and not parsed.dropped
    assert all(event.data != "[DONE]" for event in parsed.events)
    chunks = chunks_of(parsed)
    last = chunks[-1]
    assert content_of(chunks[:-1]) == ("Hello" if compat.openrouter else "Hello!")
    if compat.openrouter:
        assert (
            last["error"]["code"] == 502 and last["error"]["message"] == "Provider returned error"
        )
        assert last["choices"][0]["finish_reason"] == "error" and last["id"] == chunks[0]["id"]
    else:
        assert list(last) == ["error"] and last["error"]["type"] == "server_error"
    reply = await chat(http, compat, scenario, stream=False)
    if compat.openrouter:
        assert reply.status == 200
        assert single(reply, compat) == {
            "error": {"code": 502, "message": "Provider returned error"}
        }
    else:
        assert reply.status == 500 and orjson.loads(reply.body)["error"]["type"] == "server_error"


@pytest.mark.parametrize("scenario", covers(Scenario.ERROR_IN_200))
async def test_error_in_200(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, compat, scenario, stream=True)
    parsed = parse_sse(result.body)
    assert result.status == 200 and [event.json()["error"] for event in parsed.events]
    assert len(parsed.events) == 1
    reply = await chat(http, compat, scenario, stream=False)
    assert reply.status == 200
    if compat.openrouter:
        assert reply.body.lstrip() == b'{"error":{"code":502,"message":"Provider returned error"}}'
        assert reply.body != reply.body.lstrip()
    else:
        assert orjson.loads(reply.body)["error"]["type"] == "server_error"


@pytest.mark.parametrize("scenario", covers(Scenario.MALFORMED_LINE))
async def test_malformed_line(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    parsed = parse_sse((await chat(http, compat, scenario, stream=True)).body)
    broken = []
    for index, event in enumerate(parsed.events[:-1]):
        try:
            event.json()
        except orjson.JSONDecodeError:
            broken.append(index)
    assert len(broken) == 1 and parsed.events[-1].data == "[DONE]"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads((await chat(http, compat, scenario, stream=False)).body)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    "scenario", covers(Scenario.RESET_MID_STREAM, Scenario.RESET_BEFORE_HEADERS)
)
async def test_resets(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, compat, scenario, stream=stream)
    assert isinstance(result.error, FAULT_ERRORS)
    if scenario is Scenario.RESET_BEFORE_HEADERS:
        assert result.status == 0
    elif stream:
        assert result.status == 200 and len(parse_sse(result.body).events) >= 2
    else:
        assert result.status == 200 and result.body.strip()[:1] == b"{"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.HANG, Scenario.HANG_MID_STREAM))
async def test_hangs_are_seen_as_read_timeouts(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, compat, scenario, stream=stream, timeout=SHORT_READ)
    assert isinstance(result.error, httpx.ReadTimeout)
    assert result.status == (0 if scenario is Scenario.HANG else 200)
    if scenario is Scenario.HANG_MID_STREAM and stream:
        assert len(parse_sse(result.body).events) == 3 - int(compat.openrouter)
    request = compat.requests[-1]
    assert request.received_at < compat.wait_for_client_close(request, 0.5) <= time.monotonic()


@pytest.mark.parametrize("scenario", covers(Scenario.CRLF))
async def test_crlf_events(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, compat, scenario, stream=True)
    assert sse_frames_only(result.body, b"\r\n")
    assert result.body.count(b"\n") == result.body.count(b"\r\n")
    parsed = parse_sse(result.body)
    assert content_of(chunks_of(parsed)) == TEXT and parsed.events[-1].data == "[DONE]"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.SPLIT_CHUNKS))
async def test_split_chunks(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, compat, scenario, stream=stream)
    pieces = result.chunks[3:] if compat.openrouter and not stream else result.chunks
    assert max(len(piece) for piece in pieces) <= 7
    torn = [piece for piece in pieces if piece.decode("utf-8", "ignore").encode() != piece]
    assert torn, "no piece splits a multi-byte character"
    if not stream:
        assert single(result, compat)["choices"][0]["message"]["content"] == TEXT
        return
    pairs = zip(result.chunks, result.chunks[1:], strict=False)
    assert any(left.endswith(b"\r") and right.startswith(b"\n") for left, right in pairs)
    parsed = parse_sse(result.body)
    assert content_of(chunks_of(parsed)) == TEXT and parsed.events[-1].data == "[DONE]"


@pytest.mark.parametrize("scenario", covers(Scenario.NO_TERMINATOR))
async def test_no_terminator(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, compat, scenario, stream=True, stream_options={"include_usage": True})
    parsed = parse_sse(result.body)
    chunks = chunks_of(parsed)
    assert result.error is None and not parsed.dropped and len(chunks) == len(parsed.events)
    assert content_of(chunks) == TEXT
    assert all(
        chunk["choices"] and chunk["choices"][0]["finish_reason"] is None for chunk in chunks
    )
    reply = single(await chat(http, compat, scenario, stream=False), compat)
    assert reply["choices"][0]["finish_reason"] is None


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.GIGANTIC_CHUNK))
async def test_gigantic_chunk(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    config.gigantic_bytes = 1024 * 1024
    result = await chat(http, compat, scenario, stream=stream)
    if stream:
        [giant] = [e for e in parse_sse(result.body).events if len(e.data) > config.gigantic_bytes]
        assert len(giant.json()["choices"][0]["delta"]["content"]) == config.gigantic_bytes
    else:
        content = single(result, compat)["choices"][0]["message"]["content"]
        assert len(content) == config.gigantic_bytes


@pytest.mark.parametrize("scenario", covers(Scenario.TOOL_CALLS))
async def test_tool_calls(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    chunks = chunks_of(
        parse_sse((await chat(http, compat, scenario, stream=True, tools=tools)).body)
    )
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if c["choices"] and "tool_calls" in c["choices"][0]["delta"]
    ]
    first, rest = calls[0], calls[1:]
    assert (first["index"], first["type"], first["function"]) == (
        0,
        "function",
        {"name": "lookup", "arguments": ""},
    )
    assert first["id"].startswith("call_") and rest
    assert all(
        set(call) == {"index", "function"} and set(call["function"]) == {"arguments"}
        for call in rest
    )
    assert "".join(call["function"]["arguments"] for call in calls) == '{"city":"Tokyo"}'
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    reply = single(await chat(http, compat, scenario, stream=False, tools=tools), compat)
    [call] = reply["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "lookup", "arguments": '{"city":"Tokyo"}'}
    assert reply["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("scenario", covers(Scenario.THINKING))
async def test_thinking_as_delta_reasoning(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    chunks = chunks_of(parse_sse((await chat(http, compat, scenario, stream=True)).body))
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]
    reasoning = [index for index, delta in enumerate(deltas) if delta.get("reasoning")]
    content = [index for index, delta in enumerate(deltas) if delta.get("content")]
    assert "".join(deltas[index]["reasoning"] for index in reasoning) == "Let me think."
    assert max(reasoning) < min(content)
    reply = single(await chat(http, compat, scenario, stream=False), compat)
    assert reply["choices"][0]["message"]["reasoning"] == "Let me think."


@pytest.mark.parametrize("scenario", covers(Scenario.USAGE_MISSING))
async def test_usage_missing(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    options: dict[str, Any] = {"stream_options": {"include_usage": True}}
    parsed = parse_sse((await chat(http, compat, scenario, stream=True, **options)).body)
    chunks = chunks_of(parsed)
    assert parsed.events[-1].data == "[DONE]" and all(chunk["choices"] for chunk in chunks)
    assert all(chunk.get("usage") is None for chunk in chunks)
    reply = single(await chat(http, compat, scenario, stream=False), compat)
    assert "usage" not in reply


@pytest.mark.parametrize("scenario", covers(Scenario.FIREHOSE))
async def test_firehose_repeats_the_answer_until_its_byte_count(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
) -> None:
    config.firehose_bytes = 200_000
    result = await chat(http, compat, scenario, stream=True)
    parsed = parse_sse(result.body)
    [request] = compat.requests
    assert config.firehose_bytes <= request.streamed_bytes < len(result.body)
    assert content_of(chunks_of(parsed)).startswith(TEXT + TEXT)
    assert parsed.events[-1].data == "[DONE]"


@pytest.mark.parametrize("scenario", covers(Scenario.IGNORE_LIMIT))
async def test_ignore_limit_runs_past_max_tokens(
    compat: OpenAICompatSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
) -> None:
    config.runaway_tokens = 20
    options: dict[str, Any] = {"stream_options": {"include_usage": True}}
    result = await chat(http, compat, scenario, stream=True, max_tokens=3, **options)
    chunks = chunks_of(parse_sse(result.body))
    assert content_of(chunks) == "".join((config.tokens * 3)[:20])
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 20
    reply = single(await chat(http, compat, scenario, stream=False, max_tokens=3), compat)
    assert reply["usage"]["completion_tokens"] == 20
    assert reply["choices"][0]["finish_reason"] == "stop"


def test_every_scenario_is_exercised() -> None:
    assert set(Scenario) == COVERED


async def test_client_close_during_hang_is_recorded_promptly(compat: OpenAICompatSimulator) -> None:
    async with httpx.AsyncClient(timeout=SHORT_READ) as short:
        result = await chat(short, compat, "hang", stream=True)
    assert isinstance(result.error, httpx.ReadTimeout)
    closed_by_client = time.monotonic()
    [request] = compat.requests
    closed_at = compat.wait_for_client_close(request, 2.0)
    assert time.monotonic() - closed_by_client < 0.5
    assert request.received_at + 0.15 < closed_at < closed_by_client + 0.5


async def test_client_close_during_paced_stream_is_recorded_promptly(
    compat: OpenAICompatSimulator, http: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    config.token_interval = 0.3
    body = {"model": "sim/paced", "messages": USER_MESSAGES, "stream": True}
    url = f"{compat.base_url}/v1/chat/completions"
    async with http.stream("POST", url, json=body) as response:
        first = await anext(response.aiter_raw())
        closing_at = time.monotonic()
    closed_by_client = time.monotonic()
    assert first.startswith((b"data: ", b": "))
    [request] = compat.requests
    closed_at = compat.wait_for_client_close(request, 2.0)
    assert time.monotonic() - closed_by_client < 0.5
    assert closing_at <= closed_at < closed_by_client + 0.5
    assert compat.wait_until_finished(request, 1.0) - closed_at < 0.1
