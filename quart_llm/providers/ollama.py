"""Ollama over its native API: `POST /api/chat` answered in NDJSON, one object a line.

Lines are framed on LF from the raw bytes (never httpx's `aiter_lines`, which also splits on
U+2028 and friends inside JSON strings). A stream is complete only with its `done: true` line;
one that ends without it is a failure, never a clean finish. An `{"error": ...}` line before
any chunk was handed on is an upstream status error; after one it can only be reported
in-band, so it is a protocol error.

Ollama omits zero metrics, so a missing count is zero; when both counts are missing the usage
is an estimate, and marked as one.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from functools import partial
from typing import Any

import httpx
import orjson

from quart_llm.config import ProviderSettings
from quart_llm.errors import (
    InvalidRequest,
    UpstreamProtocolError,
    UpstreamStatusError,
)
from quart_llm.framing import DEFAULT_MAX_LINE_BYTES, NDJSONLineFramer
from quart_llm.providers.base import map_upstream_errors
from quart_llm.providers.http import HTTPProvider, iter_body, parse_json_body, request_body
from quart_llm.providers.ollama_mapping import build_payload
from quart_llm.providers.types import Completion, StreamChunk, Usage
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.tokens import estimate_prompt_tokens, estimate_text_tokens

_STREAM_TYPES = ("application/x-ndjson", "application/json")
_HARMLESS_VALUES: dict[str, object] = {
    "n": 1,
    "logprobs": False,
    "store": False,
    "parallel_tool_calls": True,
}
_REFUSED = ("logit_bias", "top_logprobs", "service_tier", "metadata", "reasoning_effort")
_MAX_ERROR_MESSAGE = 500


class OllamaProvider(HTTPProvider):
    kind = "ollama"
    unsupported_fields = frozenset((*_REFUSED, *_HARMLESS_VALUES))

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        super().__init__(name, settings)
        self.max_line_bytes = int(settings.options.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
        if self.max_line_bytes < 1:
            raise ValueError("options.max_line_bytes must be positive")

    def check_supported(self, request: ChatRequest) -> None:
        """Refuse what Ollama cannot honour; values that ask for the default behaviour pass."""
        harmless = {
            name: None
            for name, value in _HARMLESS_VALUES.items()
            if getattr(request, name) == value
        }
        super().check_supported(request.model_copy(update=harmless) if harmless else request)
        if request.tool_choice not in (None, "auto", "none"):
            raise InvalidRequest(
                f"provider {self.name!r} ({self.kind}) supports only `tool_choice` "
                '"auto" or "none"',
                param="tool_choice",
                code="unsupported_parameter",
            )

    async def probe(self) -> None:
        with map_upstream_errors(self.name):
            async with self.exchange("GET", "/", timeout="probe") as response:
                await self.raise_for_status(response)
                if response.status_code != 200:
                    raise UpstreamProtocolError(
                        self.name, f"the liveness check answered {response.status_code}"
                    )

    async def list_models(self) -> list[str]:
        with map_upstream_errors(self.name):
            async with self.exchange("GET", "/api/tags") as response:
                parsed = await self._read_json(response)
        models = parsed.get("models") if isinstance(parsed, Mapping) else ()
        if models is None:
            return []
        if not isinstance(models, list):
            raise UpstreamProtocolError(self.name, "the model list has no `models` array")
        return [self._model_name(entry) for entry in models]

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        payload = build_payload(request, model, stream=False)
        with map_upstream_errors(self.name):
            async with self.exchange(
                "POST",
                "/api/chat",
                content=orjson.dumps(payload),
                accept="application/json",
                timeout="whole",
            ) as response:
                parsed = await self._read_json(response)
        answer = _Answer(self.name, request)
        answer.check(parsed)
        delta = answer.delta(parsed)
        finish_reason, usage = answer.finish(parsed)
        message: dict[str, Any] = {"role": "assistant", "content": delta.get("content", "")}
        if "tool_calls" in delta:
            message["content"] = delta.get("content") or None
            message["tool_calls"] = [
                {key: value for key, value in call.items() if key != "index"}
                for call in delta["tool_calls"]
            ]
        if "reasoning" in delta:
            message["reasoning"] = delta["reasoning"]
        choice = {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        return Completion(choices=[choice], usage=usage)

    async def stream_batches(
        self, request: ChatRequest, model: str
    ) -> AsyncGenerator[list[StreamChunk]]:
        content = request_body(build_payload(request, model, stream=True))
        with map_upstream_errors(self.name):
            async with self.exchange(
                "POST",
                "/api/chat",
                content=content,
                accept="application/x-ndjson",
                timeout="stream",
            ) as response:
                await self.raise_for_status(response)
                self.require_content_type(response, *_STREAM_TYPES)
                async with aclosing(
                    self._read_batches(response, _Answer(self.name, request))
                ) as batches:
                    async for batch in batches:
                        yield batch

    async def _read_batches(
        self, response: httpx.Response, answer: _Answer
    ) -> AsyncGenerator[list[StreamChunk]]:
        """The chunks of the lines completed by each upstream read (the last line may lack
        its newline)."""
        framer = NDJSONLineFramer(self.max_line_bytes)
        pieces = iter_body(response)
        async with aclosing(pieces):
            ended = False
            while not ended:
                piece = await anext(pieces, None)
                ended = piece is None
                batch, error = self.parse_piece(
                    partial(self._lines_into, framer=framer, piece=piece, answer=answer), "a line"
                )
                if batch:
                    yield batch
                if error is not None:
                    raise error
                if answer.done:
                    return
        raise UpstreamProtocolError(self.name, "the stream ended before done")

    def _lines_into(
        self,
        batch: list[StreamChunk],
        *,
        framer: NDJSONLineFramer,
        piece: bytes | None,
        answer: _Answer,
    ) -> None:
        """`piece` None is the end of the body: the last line may lack its newline."""
        if piece is None:
            tail = framer.flush()
            lines = [tail] if tail is not None else []
        else:
            lines = framer.feed(piece)
        for line in lines:
            batch.extend(answer.chunks(_parse_line(self.name, line)))
            if answer.done:
                return

    async def _read_json(self, response: httpx.Response) -> Any:
        await self.raise_for_status(response)
        self.require_content_type(response, "application/json")
        body = bytearray()
        async for piece in iter_body(response):
            body += piece
            if len(body) > self.max_line_bytes:
                raise UpstreamProtocolError(
                    self.name, f"the answer exceeds {self.max_line_bytes} bytes"
                )
        return parse_json_body(self.name, bytes(body))

    def _model_name(self, entry: Any) -> str:
        if isinstance(entry, Mapping):
            for key in ("model", "name"):
                name = entry.get(key)
                if isinstance(name, str) and name:
                    return name
        raise UpstreamProtocolError(self.name, "a model list entry has no name")


def _parse_line(provider: str, line: bytes) -> Mapping[str, Any]:
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(provider, "the stream carried a malformed line") from exc
    if not isinstance(parsed, Mapping):
        raise UpstreamProtocolError(provider, "the stream carried a line that is not an object")
    return parsed


class _Answer:
    """Ollama's answer objects in OpenAI's choice shape, with what the stream must remember."""

    def __init__(self, provider: str, request: ChatRequest) -> None:
        self.provider = provider
        self.request = request
        self.started = False
        self.done = False
        self.tool_calls = 0
        self.texts: list[str] = []

    def chunks(self, parsed: Mapping[str, Any]) -> list[StreamChunk]:
        """The chunks one stream line gives: content (if any), then the finish on `done`."""
        self.check(parsed)
        chunks: list[StreamChunk] = []
        delta = self.delta(parsed)
        self.done = parsed.get("done") is True
        if self.done and not self.started and not delta:
            delta = {"content": ""}
        if delta:
            if not self.started:
                delta = {"role": "assistant", **delta}
            chunks.append(StreamChunk([_choice(delta, None)]))
            self.started = True
        if self.done:
            finish_reason, usage = self.finish(parsed)
            chunks.append(StreamChunk([_choice({}, finish_reason)], usage=usage))
        return chunks

    def check(self, parsed: Any) -> None:
        """Raise for an error object, or for anything that is not an answer object."""
        if not isinstance(parsed, dict):
            raise UpstreamProtocolError(self.provider, "the answer is not a JSON object")
        if "error" not in parsed:
            return
        error = parsed["error"]
        if isinstance(error, Mapping):
            error = error.get("message")
        message = error if isinstance(error, str) and error else "unknown error"
        message = message[:_MAX_ERROR_MESSAGE]
        if self.started:
            raise UpstreamProtocolError(
                self.provider, f"upstream error mid-stream: {message}", code="upstream_stream_error"
            )
        raise UpstreamStatusError(self.provider, f"upstream error: {message}", upstream_status=500)

    def delta(self, parsed: Mapping[str, Any]) -> dict[str, Any]:
        """Content, reasoning and tool calls of one object, without empty fields."""
        message = parsed.get("message")
        if message is None:
            return {}
        if not isinstance(message, Mapping):
            raise UpstreamProtocolError(self.provider, "an answer's message is not an object")
        delta: dict[str, Any] = {}
        for source, target in (("content", "content"), ("thinking", "reasoning")):
            text = message.get(source)
            if text is not None and not isinstance(text, str):
                raise UpstreamProtocolError(self.provider, f"an answer's {source} is not text")
            if text:
                delta[target] = text
                self.texts.append(text)
        raw_calls = message.get("tool_calls")
        if raw_calls:
            delta["tool_calls"] = self._tool_calls(raw_calls)
        return delta

    def finish(self, parsed: Mapping[str, Any]) -> tuple[str, Usage]:
        if self.tool_calls:
            finish_reason = "tool_calls"
        else:
            finish_reason = "length" if parsed.get("done_reason") == "length" else "stop"
        prompt = _count(parsed.get("prompt_eval_count"))
        completion = _count(parsed.get("eval_count"))
        if prompt is None and completion is None:
            usage = Usage(
                estimate_prompt_tokens(self.request.messages),
                estimate_text_tokens("".join(self.texts)),
                estimated=True,
            )
        else:
            usage = Usage(prompt or 0, completion or 0)
        return finish_reason, usage

    def _tool_calls(self, raw_calls: Any) -> list[dict[str, Any]]:
        if not isinstance(raw_calls, list):
            raise UpstreamProtocolError(self.provider, "an answer's tool_calls is not a list")
        calls: list[dict[str, Any]] = []
        for raw in raw_calls:
            function = raw.get("function") if isinstance(raw, Mapping) else None
            name = function.get("name") if isinstance(function, Mapping) else None
            if not isinstance(function, Mapping) or not isinstance(name, str) or not name:
                raise UpstreamProtocolError(self.provider, "a tool call has no function name")
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


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
