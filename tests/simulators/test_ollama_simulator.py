"""The Ollama simulator speaks the native API of PROTOCOLS section 1, faults included."""

import re
import time
from typing import Any

import httpx
import orjson
import pytest

from . import OllamaSimulator, Scenario, SimulatorConfig
from .decoding import ndjson_lines, parse_ndjson
from .helpers import USER_MESSAGES, Capture, capture, scenario_headers

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
LINE_KEYS = ["model", "created_at", "message", "done"]
METRICS = [
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
]
FINAL_KEYS = [*LINE_KEYS, "done_reason", *METRICS]
SHORT_READ = httpx.Timeout(5.0, read=0.2)


def chat_body(model: str = "llama3.2", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": USER_MESSAGES, **extra}


async def chat(
    http: httpx.AsyncClient,
    sim: OllamaSimulator,
    scenario: str | None = None,
    *,
    model: str = "llama3.2",
    timeout: httpx.Timeout | None = None,
    **extra: Any,
) -> Capture:
    headers = scenario_headers(scenario) if scenario else None
    url = f"{sim.base_url}/api/chat"
    return await capture(
        http, "POST", url, json=chat_body(model, **extra), headers=headers, timeout=timeout
    )


def content_of(lines: list[dict[str, Any]]) -> str:
    return "".join(line["message"]["content"] for line in lines if "message" in line)


async def test_liveness_version_and_tags(ollama: OllamaSimulator, http: httpx.AsyncClient) -> None:
    root = await http.get(f"{ollama.base_url}/")
    head = await http.head(f"{ollama.base_url}/")
    version = await http.get(f"{ollama.base_url}/api/version")
    tags = await http.get(f"{ollama.base_url}/api/tags")
    assert (root.status_code, root.text) == (200, "Ollama is running")
    assert root.headers["content-type"] == "text/plain; charset=utf-8"
    assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "17")
    assert version.content == b'{"version":"0.12.0"}'
    models = tags.json()["models"]
    assert [entry["model"] for entry in models] == ollama.config.known_models
    assert list(models[0]) == ["name", "model", "modified_at", "size", "digest", "details"]
    assert list(models[0]["details"]) == [
        "parent_model",
        "format",
        "family",
        "families",
        "parameter_size",
        "quantization_level",
    ]
    assert models[0]["details"]["family"] == "llama"
    ollama.config.known_models = []
    assert (await http.get(f"{ollama.base_url}/api/tags")).content == b'{"models":[]}'


async def test_unknown_route_is_gin_404(ollama: OllamaSimulator, http: httpx.AsyncClient) -> None:
    response = await http.get(f"{ollama.base_url}/api/chat")
    assert (response.status_code, response.text) == (404, "404 page not found")


async def test_normal_stream_is_ndjson_one_line_per_chunk(
    ollama: OllamaSimulator, http: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    result = await chat(http, ollama)
    assert result.status == 200
    assert result.headers["content-type"] == "application/x-ndjson"
    assert result.headers["transfer-encoding"] == "chunked"
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in result.chunks)
    lines = parse_ndjson(result.body)
    assert len(lines) == len(config.tokens) + 1
    for line in lines[:-1]:
        assert list(line) == LINE_KEYS
        assert line["message"] == {"role": "assistant", "content": line["message"]["content"]}
        assert line["model"] == "llama3.2" and line["done"] is False
        assert TIMESTAMP.match(line["created_at"])
    final = lines[-1]
    assert list(final) == FINAL_KEYS
    assert final["message"] == {"role": "assistant", "content": ""}
    assert (final["done"], final["done_reason"]) == (True, "stop")
    assert final["eval_count"] == len(config.tokens)
    assert final["prompt_eval_count"] == 5 + 3
    assert content_of(lines) == "".join(config.tokens)
    assert "🙂" in content_of(lines) and "é" in content_of(lines)


async def test_non_stream_reply_is_one_json_object(
    ollama: OllamaSimulator, http: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    result = await chat(http, ollama, stream=False)
    assert result.headers["content-type"] == "application/json; charset=utf-8"
    assert "content-length" in result.headers
    reply = orjson.loads(result.body)
    assert list(reply) == FINAL_KEYS
    assert reply["message"] == {"role": "assistant", "content": "".join(config.tokens)}
    assert (reply["done"], reply["done_reason"], reply["eval_count"]) == (True, "stop", 8)


@pytest.mark.parametrize("stream", [True, False])
async def test_num_predict_limits_tokens_with_done_reason_length(
    ollama: OllamaSimulator, http: httpx.AsyncClient, stream: bool
) -> None:
    result = await chat(http, ollama, stream=stream, options={"num_predict": 3})
    lines = parse_ndjson(result.body + (b"" if stream else b"\n"))
    assert content_of(lines) == "Hello! The"
    assert (lines[-1]["done_reason"], lines[-1]["eval_count"]) == ("length", 3)


async def test_openai_only_fields_are_recorded_and_ignored(
    ollama: OllamaSimulator, http: httpx.AsyncClient
) -> None:
    image = "aGVsbG8="
    messages = [{"role": "user", "content": "what is this", "images": [image]}]
    body = {"model": "llama3.2", "messages": messages, "max_tokens": 2, "stop": ["x"]}
    response = await http.post(f"{ollama.base_url}/api/chat", json=body)
    assert response.status_code == 200
    [request] = ollama.requests
    assert request.unknown_fields == ["max_tokens", "stop"]
    assert request.images == [image]
    assert request.json == body and request.body == response.request.content
    assert parse_ndjson(response.content)[-1]["eval_count"] == 8


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "missing request body"),
        (b"  \n", "missing request body"),
        (b'{"model":', "unexpected EOF"),
        (b"nope", "invalid character 'n' looking for beginning of value"),
        (b"[1]", "json: cannot unmarshal array into Go value of type api.ChatRequest"),
        (b'{"messages":[]}', "model is required"),
        (
            b'{"model":"llama3.2","stream":"yes"}',
            "json: cannot unmarshal string into Go struct field ChatRequest.stream of type bool",
        ),
        (
            b'{"model":"llama3.2","messages":[{"role":"user","content":"x","images":["%%"]}]}',
            "illegal base64 data at input byte 0",
        ),
    ],
)
async def test_bad_bodies_get_400_with_go_style_errors(
    ollama: OllamaSimulator, http: httpx.AsyncClient, content: bytes, message: str
) -> None:
    response = await http.post(f"{ollama.base_url}/api/chat", content=content)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"error": message}


async def test_model_lookup_and_scenario_names(
    ollama: OllamaSimulator, http: httpx.AsyncClient
) -> None:
    missing = await chat(http, ollama, model="llama9")
    assert (missing.status, orjson.loads(missing.body)) == (
        404,
        {"error": "model 'llama9' not found"},
    )
    for model in ("llama3.2", "llama3.2:latest", "qwen3:0.6b", "sim/paced", "x/y/thinking:free"):
        assert (await chat(http, ollama, model=model)).status == 200, model
    assert [request.scenario for request in ollama.requests[-2:]] == ["paced", "thinking"]
    bad = await chat(http, ollama, "no-such-scenario")
    assert bad.status == 400 and b"no-such-scenario" in bad.body


async def test_api_key_is_enforced(ollama: OllamaSimulator, http: httpx.AsyncClient) -> None:
    ollama.config.api_key = "secret"
    denied = await http.get(f"{ollama.base_url}/api/tags")
    wrong = await http.get(f"{ollama.base_url}/api/tags", headers={"Authorization": "Bearer nope"})
    allowed = await http.get(
        f"{ollama.base_url}/api/tags", headers={"Authorization": "Bearer secret"}
    )
    liveness = await http.get(f"{ollama.base_url}/")
    assert (denied.status_code, denied.json()) == (401, {"error": "unauthorized"})
    assert (wrong.status_code, allowed.status_code, liveness.status_code) == (401, 200, 200)


@pytest.mark.parametrize("keep_alive", [None, 0])
async def test_empty_messages_only_load_or_unload(
    ollama: OllamaSimulator, http: httpx.AsyncClient, keep_alive: int | None
) -> None:
    body: dict[str, Any] = {"model": "llama3.2", "messages": [], "keep_alive": keep_alive}
    reply = (await http.post(f"{ollama.base_url}/api/chat", json=body)).json()
    assert reply["done_reason"] == ("unload" if keep_alive == 0 else "load")
    assert reply["message"] == {"role": "assistant", "content": ""} and reply["done"] is True


FAULT_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError)
COVERED: set[Scenario] = set()


def covers(*scenarios: Scenario) -> list[Scenario]:
    COVERED.update(scenarios)
    return list(scenarios)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    "scenario", covers(Scenario.NORMAL, Scenario.PROCESSING_COMMENTS, Scenario.PACED)
)
async def test_plain_scenarios_complete_normally(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    lines = parse_ndjson(result.body if stream else result.body + b"\n")
    assert content_of(lines) == "".join(config.tokens)
    assert lines[-1]["done"] is True and list(lines[-1]) == FINAL_KEYS
    assert ollama.requests[-1].scenario == scenario
    if stream and scenario is Scenario.PACED:
        assert result.arrivals[-1] - result.arrivals[0] >= 0.7 * config.token_interval * 8


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.SLOW_FIRST_TOKEN))
async def test_slow_first_token_delays_the_headers(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    assert result.headers_at - result.started >= config.first_token_delay * 0.95
    assert result.arrivals[0] - result.headers_at < 0.1
    assert result.status == 200 and result.body.count(b'"done":true') == 1


FIXED_REPLIES: list[tuple[Scenario, int, str, bytes | None]] = [
    (
        Scenario.ERROR_BEFORE_STREAM,
        500,
        "application/json",
        b'{"error":"llama runner process has terminated: exit status 2"}',
    ),
    (
        Scenario.RATE_LIMITED,
        429,
        "application/json; charset=utf-8",
        b'{"error":"too many requests"}',
    ),
    (
        Scenario.UNKNOWN_MODEL,
        404,
        "application/json; charset=utf-8",
        b'{"error":"model \'llama3.2\' not found"}',
    ),
    (
        Scenario.UNAUTHORIZED,
        401,
        "application/json; charset=utf-8",
        b'{"error":"unauthorized"}',
    ),
    (Scenario.HTML_500, 500, "text/html", None),
    (Scenario.WRONG_CONTENT_TYPE, 200, "text/html; charset=utf-8", None),
]
covers(*(row[0] for row in FIXED_REPLIES))


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("scenario", "status", "content_type", "body"), FIXED_REPLIES)
async def test_fixed_replies(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    scenario: Scenario,
    status: int,
    content_type: str,
    body: bytes | None,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    assert result.status == status
    expected_type = content_type
    if scenario is Scenario.ERROR_BEFORE_STREAM and not stream:
        expected_type = "application/json; charset=utf-8"
    assert result.headers["content-type"] == expected_type
    assert "content-length" in result.headers
    if body is not None:
        assert result.body == body
    else:
        assert result.body.lstrip().lower().startswith((b"<html", b"<!doctype html"))
    if scenario is Scenario.RATE_LIMITED:
        assert result.headers["retry-after"] == "7"


@pytest.mark.parametrize("scenario", covers(Scenario.ERROR_MID_STREAM))
async def test_error_mid_stream_is_an_error_line_then_the_end(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, ollama, scenario)
    lines = parse_ndjson(result.body)
    assert result.status == 200 and result.error is None
    assert [line["message"]["content"] for line in lines[:-1]] == ["Hello", "!", " The"]
    assert lines[-1] == {"error": "an error was encountered while running the model"}
    single = await chat(http, ollama, scenario, stream=False)
    assert single.status == 500 and orjson.loads(single.body) == lines[-1]


@pytest.mark.parametrize("scenario", covers(Scenario.ERROR_IN_200))
async def test_error_in_200(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, ollama, scenario)
    assert (result.status, result.headers["content-type"]) == (200, "application/x-ndjson")
    assert result.body == b'{"error":"model runner has unexpectedly stopped"}\n'
    single = await chat(http, ollama, scenario, stream=False)
    assert single.status == 200
    assert single.body == b'{"error":"model runner has unexpectedly stopped"}'


@pytest.mark.parametrize("scenario", covers(Scenario.MALFORMED_LINE))
async def test_malformed_line(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario
) -> None:
    result = await chat(http, ollama, scenario)
    broken = []
    for index, line in enumerate(ndjson_lines(result.body)):
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            broken.append(index)
    assert broken == [3]
    assert orjson.loads(ndjson_lines(result.body)[-1])["done"] is True
    single = await chat(http, ollama, scenario, stream=False)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(single.body)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.RESET_MID_STREAM))
async def test_reset_mid_stream(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    assert result.status == 200 and isinstance(result.error, FAULT_ERRORS)
    if stream:
        assert len(ndjson_lines(result.body)) == 3
    else:
        assert 0 < len(result.body) < int(result.headers["content-length"])
    assert ollama.requests[-1].client_closed_at is None


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.RESET_BEFORE_HEADERS))
async def test_reset_before_headers(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    assert result.status == 0 and isinstance(result.error, FAULT_ERRORS)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.HANG, Scenario.HANG_MID_STREAM))
async def test_hangs_are_seen_as_read_timeouts(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, ollama, scenario, stream=stream, timeout=SHORT_READ)
    assert isinstance(result.error, httpx.ReadTimeout)
    if scenario is Scenario.HANG:
        assert result.status == 0
    elif stream:
        assert result.status == 200 and len(ndjson_lines(result.body)) == 3
    else:
        assert result.status == 200 and 0 < len(result.body) < int(result.headers["content-length"])
    request = ollama.requests[-1]
    closed_at = ollama.wait_for_client_close(request, 0.5)
    assert request.received_at < closed_at <= time.monotonic()


@pytest.mark.parametrize("scenario", covers(Scenario.CRLF))
async def test_crlf_line_endings(
    ollama: OllamaSimulator, http: httpx.AsyncClient, config: SimulatorConfig, scenario: Scenario
) -> None:
    result = await chat(http, ollama, scenario)
    lines = ndjson_lines(result.body)
    assert all(line.endswith(b"\r") for line in lines)
    assert content_of([orjson.loads(line) for line in lines]) == "".join(config.tokens)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.SPLIT_CHUNKS))
async def test_split_chunks_cut_lines_and_characters(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    assert result.headers["transfer-encoding"] == "chunked"
    assert max(len(chunk) for chunk in result.chunks) <= 7
    assert len(result.chunks) > len(result.body) // 7
    torn = [chunk for chunk in result.chunks if chunk.decode("utf-8", "ignore").encode() != chunk]
    assert torn, "no chunk splits a multi-byte character"
    lines = parse_ndjson(result.body if stream else result.body + b"\n")
    assert content_of(lines) == "".join(config.tokens) and lines[-1]["done"] is True


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.NO_TERMINATOR))
async def test_no_terminator(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    lines = parse_ndjson(result.body if stream else result.body + b"\n")
    assert result.error is None and all(line["done"] is False for line in lines)
    assert all("done_reason" not in line for line in lines)
    assert content_of(lines) == "".join(config.tokens)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.GIGANTIC_CHUNK))
async def test_gigantic_chunk(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    lines = parse_ndjson(result.body if stream else result.body + b"\n")
    assert len(lines) == (2 if stream else 1)
    assert len(lines[0]["message"]["content"]) == config.gigantic_bytes == 4 * 1024 * 1024


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.TOOL_CALLS))
async def test_tool_calls_carry_object_arguments(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    result = await chat(http, ollama, scenario, stream=stream, tools=tools)
    lines = parse_ndjson(result.body if stream else result.body + b"\n")
    message = lines[0]["message"]
    assert message["content"] == ""
    [call] = message["tool_calls"]
    assert list(call) == ["id", "function"] and call["id"].startswith("call_")
    assert call["function"] == {"index": 0, "name": "lookup", "arguments": {"city": "Tokyo"}}
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.THINKING))
async def test_thinking_comes_before_content(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    result = await chat(http, ollama, scenario, stream=stream, think=True)
    lines = parse_ndjson(result.body if stream else result.body + b"\n")
    thinking = "".join(line["message"].get("thinking", "") for line in lines)
    assert thinking == "Let me think."
    assert content_of(lines) == "".join(config.tokens)
    if stream:
        kinds = ["thinking" if "thinking" in line["message"] else "content" for line in lines]
        assert kinds == ["thinking"] * 4 + ["content"] * 9
        assert lines[-1]["eval_count"] == 12


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.USAGE_MISSING))
async def test_usage_missing_drops_the_metric_fields(
    ollama: OllamaSimulator, http: httpx.AsyncClient, scenario: Scenario, stream: bool
) -> None:
    result = await chat(http, ollama, scenario, stream=stream)
    final = parse_ndjson(result.body if stream else result.body + b"\n")[-1]
    assert list(final) == [*LINE_KEYS, "done_reason"] and final["done"] is True


@pytest.mark.parametrize("scenario", covers(Scenario.FIREHOSE))
async def test_firehose_repeats_the_answer_until_its_byte_count(
    ollama: OllamaSimulator, http: httpx.AsyncClient, config: SimulatorConfig, scenario: Scenario
) -> None:
    config.firehose_bytes = 200_000
    result = await chat(http, ollama, scenario, stream=True)
    lines = parse_ndjson(result.body)
    [request] = ollama.requests
    assert config.firehose_bytes <= request.streamed_bytes < len(result.body)
    assert content_of(lines).startswith("".join(config.tokens) * 2)
    assert lines[-1]["done"] is True and list(lines[-1]) == FINAL_KEYS


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("scenario", covers(Scenario.IGNORE_LIMIT))
async def test_ignore_limit_runs_past_num_predict(
    ollama: OllamaSimulator,
    http: httpx.AsyncClient,
    config: SimulatorConfig,
    scenario: Scenario,
    stream: bool,
) -> None:
    config.runaway_tokens = 20
    result = await chat(http, ollama, scenario, stream=stream, options={"num_predict": 3})
    lines = parse_ndjson(result.body + (b"" if stream else b"\n"))
    assert content_of(lines) == "".join((config.tokens * 3)[:20])
    assert (lines[-1]["done_reason"], lines[-1]["eval_count"]) == ("stop", 20)


def test_every_scenario_is_exercised() -> None:
    assert set(Scenario) == COVERED


async def test_client_close_during_hang_is_recorded_promptly(ollama: OllamaSimulator) -> None:
    async with httpx.AsyncClient(timeout=SHORT_READ) as short:
        with pytest.raises(httpx.ReadTimeout):
            await short.post(f"{ollama.base_url}/api/chat", json=chat_body("sim/hang"))
    closed_by_client = time.monotonic()
    [request] = ollama.requests
    closed_at = ollama.wait_for_client_close(request, 2.0)
    assert time.monotonic() - closed_by_client < 0.5
    assert request.received_at + 0.15 < closed_at < closed_by_client + 0.5
    assert ollama.wait_until_finished(request, 1.0) - closed_at < 0.1


async def test_client_close_during_paced_stream_is_recorded_promptly(
    ollama: OllamaSimulator, http: httpx.AsyncClient, config: SimulatorConfig
) -> None:
    config.token_interval = 0.3
    url = f"{ollama.base_url}/api/chat"
    async with http.stream("POST", url, json=chat_body("sim/paced")) as response:
        first = await anext(response.aiter_raw())
        closing_at = time.monotonic()
    closed_by_client = time.monotonic()
    assert b'"content":"Hello"' in first
    [request] = ollama.requests
    closed_at = ollama.wait_for_client_close(request, 2.0)
    assert time.monotonic() - closed_by_client < 0.5
    assert closing_at <= closed_at < closed_by_client + 0.5
    assert ollama.wait_until_finished(request, 1.0) - closed_at < 0.1


async def test_zero_metrics_are_omitted_like_go_omitempty(
    ollama: OllamaSimulator, http: httpx.AsyncClient
) -> None:
    result = await chat(http, ollama, stream=False, options={"num_predict": 0})
    reply = orjson.loads(result.body)
    assert reply["message"]["content"] == "" and reply["done_reason"] == "length"
    assert "eval_count" not in reply and "eval_duration" not in reply
    assert reply["prompt_eval_count"] == 8
