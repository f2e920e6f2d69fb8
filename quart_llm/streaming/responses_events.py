"""The Responses API's stream shape: its typed events, from OpenAI's chat chunks.

`response.created` and `response.in_progress` open the stream; text goes into a `message`
output item (`response.output_item.added`, `response.content_part.added`,
`response.output_text.delta`, then `response.output_text.done`, `response.content_part.done`,
`response.output_item.done`) and each tool call into a `function_call` item
(`response.function_call_arguments.delta`, then `.done`). A complete answer ends with
`response.completed`, or `response.incomplete` when it stopped at its output limit; a failure
after the start is one `response.failed`, never followed by `response.completed`. Every event
is named (`event:`) and numbered (`sequence_number`). The items' words are kept until the end,
as the done events and the final response repeat them. The item builders, usage and status
rules here serve whole answers too (`services/responses_api.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from quart_llm.errors import GatewayError
from quart_llm.providers.answers import TokenUsage
from quart_llm.streaming.sse import KEEPALIVE, encode_event
from quart_llm.streaming.stream_context import StreamContext, first_choice_delta

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
_TEXT_DELTA_HEAD = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
    b'"sequence_number":'
)


def responses_usage(usage: TokenUsage) -> dict[str, Any]:
    """Usage in the Responses API's words."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def finished(response: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    """`response` as finished for this finish reason: `completed`, or `incomplete` with its
    reason (the output limit, a content filter)."""
    reason = _INCOMPLETE.get(finish_reason or "")
    response["status"] = "completed" if reason is None else "incomplete"
    response["incomplete_details"] = None if reason is None else {"reason": reason}
    if reason is None:
        response["completed_at"] = int(time.time())
    return response


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    """An assistant `message` output item with one `output_text` part."""
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [part] if status != "in_progress" else [],
    }


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str
) -> dict[str, Any]:
    """A `function_call` output item."""
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


@dataclass(slots=True)
class ResponsesEvents:
    """The Responses API's stream events for one response (see the module). `response` is
    the response object as the request made it (id, created_at, the echoed parameters)."""

    response: dict[str, Any]
    _sequence: int = 0
    _output: list[dict[str, Any]] = field(default_factory=list)
    _texts: list[str] = field(default_factory=list)
    _open: tuple[str, int] | None = None
    """The open item: ("message", 0), or ("function_call", the upstream's tool-call index)."""
    _delta_place: bytes | None = None
    """The open message item's place in its delta events, encoded (see `_text_delta`)."""

    def opening(self, context: StreamContext) -> bytes:
        """`response.created` and `response.in_progress`."""
        self.response.update(model=context.model, status="in_progress", output=[], usage=None)
        return self._event("response.created", response=self.response) + self._event(
            "response.in_progress", response=self.response
        )

    def keepalive(self) -> bytes:
        """A comment, which the SDK skips."""
        return KEEPALIVE

    def chunk(self, choices: list[dict[str, Any]], context: StreamContext) -> bytes:
        """The item events of the first choice's delta (a response has one choice)."""
        text, tool_calls = first_choice_delta(choices)
        events = self._text(text) if text else b""
        for call in tool_calls:
            if isinstance(call, dict):
                events += self._tool_call(call)
        return events

    def cut_at_limit(self, context: StreamContext) -> bytes:
        """Nothing: the ending says `incomplete`."""
        return b""

    def ending(self, context: StreamContext) -> bytes:
        """The open item's done events, then `response.completed` (or `.incomplete`)."""
        response = finished(self.response, context.outcome.finish_reason)
        events = self._close(response["status"])
        response.update(output=self._output, usage=responses_usage(context.final_usage()))
        return events + self._event(f"response.{response['status']}", response=response)

    def failure(self, error: GatewayError, context: StreamContext) -> bytes:
        """One `response.failed`, with the output so far and the error."""
        code = "rate_limit_exceeded" if error.status == 429 else "server_error"
        self.response.update(
            status="failed", output=self._output, error={"code": code, "message": error.message}
        )
        return self._event("response.failed", response=self.response)

    def _text(self, text: str) -> bytes:
        events = b""
        if self._open != ("message", 0):
            events = self._close("completed")
            item = message_item(self._item_id("msg"), "", "in_progress")
            events += self._add(("message", 0), item)
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            events += self._event("response.content_part.added", **self._at(0), part=part)
        self._texts.append(text)
        return events + self._text_delta(text)

    def _text_delta(self, text: str) -> bytes:
        """`response.output_text.delta`, the event of almost every chunk: its bytes around the
        delta are the same for the whole message item, so they are encoded once per item and
        only the sequence number and the delta per chunk (the same bytes `_event` makes)."""
        sequence = self._sequence
        self._sequence += 1
        if self._delta_place is None:
            place = orjson.dumps(self._at(0))
            self._delta_place = b"," + place[1:-1] + b',"delta":'
        return (
            _TEXT_DELTA_HEAD
            + str(sequence).encode()
            + self._delta_place
            + orjson.dumps(text)
            + b',"logprobs":[]}\n\n'
        )

    def _tool_call(self, call: dict[str, Any]) -> bytes:
        position = call.get("index", 0)
        function = call.get("function") or {}
        events = b""
        if self._open != ("function_call", position):
            events = self._close("completed")
            call_id = call.get("id") or self._item_id("call")
            name = function.get("name") or ""
            item = function_call_item(self._item_id("fc"), call_id, name, "", "in_progress")
            events += self._add(("function_call", position), item)
        arguments = function.get("arguments")
        if not arguments:
            return events
        self._output[-1]["arguments"] += arguments
        return events + self._event(
            "response.function_call_arguments.delta", **self._at(), delta=arguments
        )

    def _add(self, key: tuple[str, int], item: dict[str, Any]) -> bytes:
        self._open = key
        self._delta_place = None
        self._output.append(item)
        return self._event(
            "response.output_item.added", output_index=len(self._output) - 1, item=item
        )

    def _close(self, status: str) -> bytes:
        """The done events of the open item, which ends with `status`."""
        if self._open is None:
            return b""
        kind, _ = self._open
        self._open = None
        item = self._output[-1]
        events = b""
        if kind == "message":
            text = "".join(self._texts)
            self._texts.clear()
            item.update(message_item(item["id"], text, status))
            events += self._event(
                "response.output_text.done", **self._at(0), text=text, logprobs=[]
            )
            part = item["content"][0]
            events += self._event("response.content_part.done", **self._at(0), part=part)
        else:
            item["status"] = status
            events += self._event(
                "response.function_call_arguments.done",
                **self._at(),
                name=item["name"],
                arguments=item["arguments"],
            )
        index = len(self._output) - 1
        return events + self._event("response.output_item.done", output_index=index, item=item)

    def _at(self, content_index: int | None = None) -> dict[str, Any]:
        """Where an event belongs: the open item (and its content part)."""
        place: dict[str, Any] = {
            "item_id": self._output[-1]["id"],
            "output_index": len(self._output) - 1,
        }
        if content_index is not None:
            place["content_index"] = content_index
        return place

    def _item_id(self, prefix: str) -> str:
        return f"{prefix}_{self.response['id'].removeprefix('resp_')}{len(self._output)}"

    def _event(self, event_type: str, **fields: Any) -> bytes:
        sequence = self._sequence
        self._sequence += 1
        return encode_event(event_type, {"type": event_type, "sequence_number": sequence, **fields})
