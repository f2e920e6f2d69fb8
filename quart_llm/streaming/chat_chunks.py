"""The chat stream's shape: OpenAI's `chat.completion.chunk` events, usage, `[DONE]`.

Chunks go out one `data:` event each, keep-alives are `:` comments, a complete answer ends
with the usage chunk (when asked for) and `data: [DONE]`, a failure with one
`data: {"error": ...}` event and no `[DONE]`; an answer cut at its limit gets a last chunk
whose `finish_reason` is `"length"` for every choice still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from quart_llm.errors import GatewayError
from quart_llm.streaming.output_limit import FINISH_AT_LIMIT
from quart_llm.streaming.sse import DONE, KEEPALIVE, encode_data

if TYPE_CHECKING:
    from quart_llm.streaming.stream_context import StreamContext


@dataclass(slots=True)
class ChatChunks:
    """OpenAI's chat chunks (see the module)."""

    _event_prefix: bytes = b""

    def opening(self, context: StreamContext) -> bytes:
        """Nothing: a chat stream starts with its first chunk."""
        return b""

    def keepalive(self) -> bytes:
        """A comment, which every SSE client skips."""
        return KEEPALIVE

    def chunk(self, choices: list[dict[str, Any]], context: StreamContext) -> bytes:
        """One `data:` event for these choices. The envelope's fields are the same on every
        chunk, so they are encoded once and only the choices are encoded per chunk."""
        if not self._event_prefix:
            head = orjson.dumps(self.envelope([], context))
            self._event_prefix = b"data: " + head[: -len(b"[]}")]
        return self._event_prefix + orjson.dumps(choices) + b"}\n\n"

    def envelope(self, choices: list[dict[str, Any]], context: StreamContext) -> dict[str, Any]:
        """A chunk's fields around these choices."""
        return {
            "id": context.completion_id,
            "object": "chat.completion.chunk",
            "created": context.created,
            "model": context.model,
            "provider": context.provider,
            "choices": choices,
        }

    def cut_at_limit(self, context: StreamContext) -> bytes:
        """A last chunk: every choice still open ends with `finish_reason: "length"`."""
        finished = context.outcome.finished_choices
        choices: list[dict[str, Any]] = [
            {"index": index, "delta": {}, "finish_reason": FINISH_AT_LIMIT, "logprobs": None}
            for index in range(context.choices)
            if index not in finished
        ]
        return self.chunk(choices, context) if choices else b""

    def ending(self, context: StreamContext) -> bytes:
        """The usage chunk (when asked for) and `[DONE]`."""
        if not context.include_usage:
            return DONE
        usage_chunk = self.envelope([], context)
        usage_chunk["usage"] = context.final_usage().to_wire()
        return encode_data(usage_chunk) + DONE

    def failure(self, error: GatewayError, context: StreamContext) -> bytes:
        """The error in OpenAI's envelope, as one `data:` event."""
        return encode_data(error.to_body(context.request_id))
