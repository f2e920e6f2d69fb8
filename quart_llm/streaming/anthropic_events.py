"""The Messages API's stream shape: Anthropic's named events, from OpenAI's chunks.

`message_start` opens the stream; text deltas go into a `text` block and each tool call into a
`tool_use` block (`content_block_start`, `content_block_delta` with `text_delta` or
`input_json_delta`, `content_block_stop`); a complete answer ends with `message_delta` (stop
reason and usage) and `message_stop`. Keep-alives are `event: ping`. A failure after the start
is one `event: error` in Anthropic's error shape, and the stream ends without `message_stop`.
Reasoning deltas are not relayed: a Messages client sees thinking only when it asked for it,
and this gateway does not take `thinking`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart_llm.errors import GatewayError, anthropic_error
from quart_llm.streaming.sse import encode_event
from quart_llm.streaming.stream_context import StreamContext, first_choice_delta

PING = b'event: ping\ndata: {"type":"ping"}\n\n'
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
"""OpenAI's finish reasons as Anthropic's stop reasons (anything else ends the turn)."""


def stop_reason(finish_reason: str | None) -> str:
    """The Anthropic stop reason of an OpenAI finish reason."""
    return STOP_REASONS.get(finish_reason or "stop", "end_turn")


def usage_of(context: StreamContext) -> dict[str, int]:
    """The stream's final usage in Anthropic's words."""
    usage = context.final_usage()
    return {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}


@dataclass(slots=True)
class AnthropicEvents:
    """Anthropic's stream events for one message (see the module)."""

    message_id: str
    _blocks: int = 0
    """Content blocks opened so far; the open one, if any, is the last."""
    _open: tuple[str, int] | None = None
    """The open block: ("text", 0), or ("tool_use", the upstream's tool-call index)."""

    def opening(self, context: StreamContext) -> bytes:
        """`message_start`, with the prompt estimate as the input tokens so far."""
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": context.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": context.prompt_estimate, "output_tokens": 0},
        }
        return encode_event("message_start", {"type": "message_start", "message": message})

    def keepalive(self) -> bytes:
        """`event: ping`, which the SDK skips."""
        return PING

    def chunk(self, choices: list[dict[str, Any]], context: StreamContext) -> bytes:
        """The block events of the first choice's delta (a message has one choice)."""
        text, tool_calls = first_choice_delta(choices)
        events = b""
        if text:
            events = self._open_block(("text", 0), {"type": "text", "text": ""})
            events += self._delta({"type": "text_delta", "text": text})
        for call in tool_calls:
            events += self._tool_call(call)
        return events

    def cut_at_limit(self, context: StreamContext) -> bytes:
        """Nothing: the ending says `max_tokens`."""
        return b""

    def ending(self, context: StreamContext) -> bytes:
        """The open block's stop, `message_delta` (stop reason, usage), `message_stop`."""
        delta = {"stop_reason": stop_reason(context.outcome.finish_reason), "stop_sequence": None}
        return (
            self._close()
            + encode_event(
                "message_delta",
                {"type": "message_delta", "delta": delta, "usage": usage_of(context)},
            )
            + encode_event("message_stop", {"type": "message_stop"})
        )

    def failure(self, error: GatewayError, context: StreamContext) -> bytes:
        """One `event: error` in Anthropic's shape."""
        _, body = anthropic_error(error.status, error.message, context.request_id)
        return encode_event("error", body)

    def _tool_call(self, call: Any) -> bytes:
        if not isinstance(call, dict):
            return b""
        position = call.get("index", 0)
        function = call.get("function") or {}
        events = b""
        if self._open != ("tool_use", position):
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{self.message_id.removeprefix('msg_')}{position}",
                "name": function.get("name") or "",
                "input": {},
            }
            events = self._open_block(("tool_use", position), block)
        arguments = function.get("arguments")
        if arguments:
            events += self._delta({"type": "input_json_delta", "partial_json": arguments})
        return events

    def _open_block(self, key: tuple[str, int], block: dict[str, Any]) -> bytes:
        """Open a block unless it is the open one (closing the one open before)."""
        if self._open == key:
            return b""
        events = self._close()
        self._open = key
        self._blocks += 1
        start = {"type": "content_block_start", "index": self._blocks - 1, "content_block": block}
        return events + encode_event("content_block_start", start)

    def _delta(self, delta: dict[str, Any]) -> bytes:
        event = {"type": "content_block_delta", "index": self._blocks - 1, "delta": delta}
        return encode_event("content_block_delta", event)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        stop = {"type": "content_block_stop", "index": self._blocks - 1}
        return encode_event("content_block_stop", stop)
