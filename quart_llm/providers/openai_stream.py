"""OpenAI's streamed chat: `chat.completion.chunk` events, then `data: [DONE]`.

A stream is complete with `[DONE]`, or with a `finish_reason` when the body ends without it
(some servers omit `[DONE]`). OpenRouter's `: OPENROUTER PROCESSING` comments never reach this
parser (the SSE decoder drops comments); its mid-stream errors arrive as a chunk with a
top-level `error` and `finish_reason: "error"`. A first delta without a role gets
`"role": "assistant"`, as OpenAI's own first chunk has.
"""

from __future__ import annotations

from typing import Any

import orjson

from quart_llm.providers.answers import StreamChunk
from quart_llm.providers.openai_wire import parse_usage, reported_error
from quart_llm.providers.stream_reading import StreamParser
from quart_llm.providers.upstream_text import UpstreamText


class OpenAIStreamParser(StreamParser):
    """The chunks of one OpenAI-style stream."""

    def __init__(self, provider: str, upstream_text: UpstreamText) -> None:
        super().__init__(provider, upstream_text)
        self.finished = False
        self.roles: set[int] = set()

    @property
    def complete(self) -> bool:
        return self.done or self.finished

    def feed(self, item: str | bytes, into: list[StreamChunk]) -> None:
        """One event. Runs once per streamed chunk: the checks read the parsed dict directly
        (an `error` member is looked for before anything is called to report it)."""
        if not item:
            return
        if item[:6] in ("[DONE]", b"[DONE]"):
            self.done = True
            return
        try:
            parsed = orjson.loads(item)
        except orjson.JSONDecodeError as exc:
            raise self.broken("the stream carried a malformed event") from exc
        if not isinstance(parsed, dict):
            raise self.broken("the stream carried a non-object event")
        if parsed.get("error"):
            self._raise_reported_error(parsed)
        raw_choices = parsed.get("choices") or []
        if not isinstance(raw_choices, list):
            raise self.broken("a chunk's choices are not a list")
        choices = [self._choice(choice) for choice in raw_choices]
        raw_usage = parsed.get("usage")
        usage = None if raw_usage is None else parse_usage(raw_usage)
        if choices or usage is not None:
            into.append(StreamChunk(choices=choices, usage=usage))

    def _choice(self, choice: Any) -> dict[str, Any]:
        if not isinstance(choice, dict):
            raise self.broken("a chunk choice is not an object")
        if choice.get("error"):
            self._raise_reported_error(choice)
        finish_reason = choice.get("finish_reason")
        if finish_reason:
            if finish_reason == "error":
                raise self.error("the upstream ended the answer with an error")
            self.finished = True
        if "native_finish_reason" in choice:
            del choice["native_finish_reason"]
        index = choice.get("index")
        index = index if isinstance(index, int) else 0
        if index not in self.roles:
            delta = choice.get("delta")
            if isinstance(delta, dict):
                self.roles.add(index)
                if "role" not in delta:
                    choice["delta"] = {"role": "assistant", **delta}
        return choice

    def _raise_reported_error(self, parsed: dict[str, Any]) -> None:
        reported = reported_error(parsed)
        if reported is not None:
            raise self.reported(*reported)
