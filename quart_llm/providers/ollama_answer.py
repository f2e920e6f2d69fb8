"""Ollama's answer objects (`/api/chat`) in OpenAI's choice shape.

One object is a whole answer, or one NDJSON line of a streamed one; the last line carries
`done: true`, the finish reason and the counts. Ollama omits zero metrics, so a missing count
is zero; when both are missing the usage is an estimate, and marked as one. Thinking becomes
`reasoning`; tool-call arguments, objects in Ollama's wire, become OpenAI's JSON strings.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import orjson

from quart_llm.providers.answers import StreamChunk, TokenUsage, token_count
from quart_llm.providers.stream_reading import StreamParser
from quart_llm.providers.token_estimates import estimate_prompt_tokens, estimate_text_tokens
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.schemas.chat_request import ChatRequest


class OllamaAnswer(StreamParser):
    """One answer: its objects as OpenAI deltas and chunks, and what its end must report."""

    def __init__(self, provider: str, request: ChatRequest, upstream_text: UpstreamText) -> None:
        super().__init__(provider, upstream_text)
        self.prompt_estimate = estimate_prompt_tokens(request.messages)
        self.tool_calls = 0
        self.texts: list[str] = []

    def feed(self, item: str | bytes, into: list[StreamChunk]) -> None:
        """The chunks of one stream line: its content (if any), then the finish on `done`."""
        parsed = self.parse(item)
        delta = self.delta(parsed)
        self.done = parsed.get("done") is True
        if self.done and not self.started and not delta:
            delta = {"content": ""}
        if delta:
            if not self.started:
                delta = {"role": "assistant", **delta}
            into.append(StreamChunk([_choice(delta, None)]))
        if self.done:
            finish_reason, usage = self.finish(parsed)
            into.append(StreamChunk([_choice({}, finish_reason)], usage=usage))

    def parse(self, item: str | bytes) -> dict[str, Any]:
        """One answer object; raises for an error object or anything that is not an answer."""
        try:
            parsed = orjson.loads(item)
        except orjson.JSONDecodeError as exc:
            raise self.broken("the stream carried a malformed line") from exc
        self.check(parsed)
        return parsed  # type: ignore[no-any-return]

    def check(self, parsed: Any) -> None:
        """Raise for an error object, or for anything that is not an answer object."""
        if not isinstance(parsed, dict):
            raise self.broken("the answer is not a JSON object")
        if "error" not in parsed:
            return
        error = parsed["error"]
        if isinstance(error, Mapping):
            error = error.get("message")
        if isinstance(error, str) and error:
            raise self.reported(error)
        raise self.error("unknown error")

    def delta(self, parsed: Mapping[str, Any]) -> dict[str, Any]:
        """Content, reasoning and tool calls of one object, without empty fields."""
        message = parsed.get("message")
        if message is None:
            return {}
        if not isinstance(message, Mapping):
            raise self.broken("an answer's message is not an object")
        delta: dict[str, Any] = {}
        for source, target in (("content", "content"), ("thinking", "reasoning")):
            text = message.get(source)
            if text is not None and not isinstance(text, str):
                raise self.broken(f"an answer's {source} is not text")
            if text:
                delta[target] = text
                self.texts.append(text)
        raw_calls = message.get("tool_calls")
        if raw_calls:
            delta["tool_calls"] = self._tool_calls(raw_calls)
        return delta

    def finish(self, parsed: Mapping[str, Any]) -> tuple[str, TokenUsage]:
        """The finish reason and usage of the last object."""
        if self.tool_calls:
            finish_reason = "tool_calls"
        else:
            finish_reason = "length" if parsed.get("done_reason") == "length" else "stop"
        prompt = token_count(parsed.get("prompt_eval_count"))
        completion = token_count(parsed.get("eval_count"))
        if prompt is None and completion is None:
            usage = TokenUsage(
                self.prompt_estimate, estimate_text_tokens("".join(self.texts)), estimated=True
            )
        else:
            usage = TokenUsage(prompt or 0, completion or 0)
        return finish_reason, usage

    def _tool_calls(self, raw_calls: Any) -> list[dict[str, Any]]:
        if not isinstance(raw_calls, list):
            raise self.broken("an answer's tool_calls is not a list")
        calls: list[dict[str, Any]] = []
        for raw in raw_calls:
            function = raw.get("function") if isinstance(raw, Mapping) else None
            name = function.get("name") if isinstance(function, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(name, str) or not name:
                raise self.broken("a tool call has no function name")
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = orjson.dumps({} if arguments is None else arguments).decode()
            call_id = raw.get("id")
            if not isinstance(call_id, str) or not call_id:
                call_id = f"call_{secrets.token_hex(12)}"
            calls.append(
                {
                    "index": self.tool_calls,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }
            )
            self.tool_calls += 1
            self.texts.append(arguments)
        return calls


def _choice(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
