"""The Messages and Responses stream shapes driven by the one read loop (`chat_events`) from a
scripted upstream: the event order each SDK needs, keep-alives, the cut at the output limit
and the in-band failure that never looks complete."""

from __future__ import annotations

from typing import Any

import orjson

from quart_llm.errors import UpstreamProtocolError
from quart_llm.providers.answers import StreamChunk, TokenUsage
from quart_llm.streaming.anthropic_events import AnthropicEvents
from quart_llm.streaming.chat_events import chat_events
from quart_llm.streaming.responses_events import ResponsesEvents
from quart_llm.streaming.stream_context import EventShape, StreamContext
from tests.streaming.test_chat_events import Finished, Step, context, delta, finish, open_stream


def tool_delta(position: int, call_id: str | None, name: str | None, arguments: str) -> StreamChunk:
    call: dict[str, Any] = {"index": position, "function": {"arguments": arguments}}
    if call_id is not None:
        call["id"] = call_id
        call["function"]["name"] = name
    return StreamChunk([{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}])


def named_events(writes: list[bytes]) -> list[tuple[str, dict[str, Any]]]:
    """Every event as (its `event:` name, its data)."""
    found = []
    for block in b"".join(writes).split(b"\n\n"):
        lines = block.split(b"\n")
        if len(lines) == 2 and lines[0].startswith(b"event: "):
            name = lines[0].removeprefix(b"event: ").decode()
            found.append((name, orjson.loads(lines[1].removeprefix(b"data: "))))
    return found


async def run(
    shape: EventShape, steps: list[Step], *, pings: bool = False, **more: Any
) -> list[tuple[str, dict[str, Any]]]:
    """The named events of the stream (pings left out unless asked for: the loop sends one
    with the opening when no chunk has arrived yet)."""
    readahead = await open_stream(steps)
    stream_context: StreamContext = context(Finished(), **more)
    stream_context.shape = shape
    writes = [w async for w in chat_events(readahead, None, stream_context)]
    events = [event for event in named_events(writes) if pings or event[0] != "ping"]
    for name, data in events:
        assert data["type"] == name
    return events


def responses_shape() -> ResponsesEvents:
    return ResponsesEvents({"id": "resp_abc", "object": "response", "model": "asked"})


async def test_anthropic_text_then_tool_use() -> None:
    steps: list[Step] = [
        [delta("Hel"), delta("lo")],
        [tool_delta(0, "call_1", "get_weather", '{"ci'), tool_delta(0, None, None, 'ty":1}')],
        [finish(TokenUsage(5, 4))],
    ]
    events = await run(AnthropicEvents("msg_x"), steps)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0][1]["message"]["id"] == "msg_x"
    assert events[0][1]["message"]["usage"] == {"input_tokens": 7, "output_tokens": 0}
    assert events[5][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "get_weather",
        "input": {},
    }
    assert [data["index"] for _, data in events[1:9]] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert events[7][1]["delta"] == {"type": "input_json_delta", "partial_json": 'ty":1}'}
    assert events[9][1]["usage"] == {"input_tokens": 5, "output_tokens": 4}
    assert events[9][1]["delta"]["stop_reason"] == "end_turn"


async def test_anthropic_keepalive_is_a_ping_and_the_cut_says_max_tokens() -> None:
    steps: list[Step] = [0.25, [delta("a"), delta("b"), delta("c"), delta("d")], [finish()]]
    events = await run(AnthropicEvents("msg_x"), steps, pings=True, keepalive=0.1, output_cap=2)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "ping", "ping"]
    assert names.count("content_block_delta") == 2
    stop = dict(events)["message_delta"]
    assert stop["delta"]["stop_reason"] == "max_tokens"
    assert stop["usage"]["output_tokens"] == 2
    assert names[-1] == "message_stop"


async def test_anthropic_failure_is_one_error_event_and_no_stop() -> None:
    steps: list[Step] = [[delta("Hel")], UpstreamProtocolError("up", "broke")]
    events = await run(AnthropicEvents("msg_x"), steps)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "api_error", "message": "provider 'up': broke"},
        "request_id": "req_test",
    }


async def test_responses_text_then_function_call() -> None:
    steps: list[Step] = [
        [delta("Hel"), delta("lo")],
        [tool_delta(0, "call_1", "get_weather", '{"ci'), tool_delta(0, None, None, 'ty":1}')],
        [finish(TokenUsage(5, 4))],
    ]
    events = await run(responses_shape(), steps)
    assert [name for name, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert events[0][1]["response"]["model"] == "up/m"
    assert events[6][1]["text"] == "Hello"
    assert events[12][1]["arguments"] == '{"city":1}'
    completed = events[-1][1]["response"]
    assert completed["status"] == "completed"
    assert [item["type"] for item in completed["output"]] == ["message", "function_call"]
    assert completed["output"][0]["content"][0]["text"] == "Hello"
    assert completed["output"][1]["call_id"] == "call_1"
    assert completed["usage"]["total_tokens"] == 9


async def test_responses_cut_at_the_limit_is_incomplete() -> None:
    steps: list[Step] = [[delta("a"), delta("b"), delta("c")], [finish()]]
    events = await run(responses_shape(), steps, output_cap=2)
    name, data = events[-1]
    assert name == "response.incomplete"
    assert data["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert data["response"]["output"][0]["status"] == "incomplete"
    assert data["response"]["output"][0]["content"][0]["text"] == "ab"
    assert "response.completed" not in [name for name, _ in events]


async def test_responses_failure_is_failed_and_never_completed() -> None:
    steps: list[Step] = [[delta("Hel")], UpstreamProtocolError("up", "broke")]
    events = await run(responses_shape(), steps)
    names = [name for name, _ in events]
    assert names[-1] == "response.failed"
    assert "response.completed" not in names
    failed = events[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "provider 'up': broke"}
    assert failed["output"][0]["type"] == "message"


def test_a_responses_text_delta_is_encoded_as_every_other_event() -> None:
    """The text delta's bytes are pre-encoded per message item: they must be what the generic
    encoder makes, for any text, and follow a new item once a tool call closed the first."""
    shape = ResponsesEvents({"id": "resp_abc", "object": "response"})
    stream = context(Finished())
    texts = ["plain", ' "quoted"\n', "ünïcødé 😀", "\u2028"]
    for text in texts:
        assert shape.chunk([{"index": 0, "delta": {"content": text}}], stream)
    tool_call = {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{}"}}
    shape.chunk([{"index": 0, "delta": {"tool_calls": [tool_call]}}], stream)
    after = shape.chunk([{"index": 0, "delta": {"content": "again"}}], stream)
    deltas = [
        orjson.loads(line[len(b"data: ") :])
        for line in after.split(b"\n")
        if line.startswith(b'data: {"type":"response.output_text.delta"')
    ]
    assert len(deltas) == 1
    assert deltas[0]["delta"] == "again"
    assert deltas[0]["output_index"] == 2
    assert deltas[0]["item_id"] == shape._output[-1]["id"]
    replay = ResponsesEvents({"id": "resp_abc", "object": "response"})
    replay.chunk([{"index": 0, "delta": {"content": "seed"}}], stream)
    for text in texts:
        sequence = replay._sequence
        made = replay._text_delta(text)
        replay._sequence = sequence
        generic = replay._event(
            "response.output_text.delta", **replay._at(0), delta=text, logprobs=[]
        )
        assert made == generic
