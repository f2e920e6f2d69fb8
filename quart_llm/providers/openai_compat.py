"""Any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, OpenAI itself.

Only OpenAI's own request fields are forwarded; OpenRouter's sampling extras are refused (400)
before any I/O, as strict servers reject them. Streams are read as SSE with our own framer
(never httpx's `aiter_lines`, which splits inside JSON strings on U+2028 and friends). A stream
is complete only with `[DONE]` or a `finish_reason`; anything else is reported as a failure,
never as a clean end. An in-band error before any chunk was handed on is an upstream status
error; after one it can only be reported in-band, so it is a protocol error.

After `[DONE]` the few bytes that end the HTTP body are read (briefly), so the connection goes
back to the pool instead of being dropped. Upstream error text never carries the upstream key.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import orjson

from quart_llm.config import ProviderSettings
from quart_llm.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from quart_llm.framing import DEFAULT_MAX_LINE_BYTES
from quart_llm.providers.base import map_upstream_errors
from quart_llm.providers.http import (
    HTTPProvider,
    iter_body,
    parse_json_body,
    read_bounded,
    request_body,
)
from quart_llm.providers.types import Completion, StreamChunk, Usage
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.sse_decoder import SSEParser

_GATEWAY_FIELDS = frozenset({"provider", "model", "messages", "stream", "stream_options"})
OPENROUTER_EXTRAS = frozenset({"top_k", "min_p", "repetition_penalty"})
_USAGE_DETAILS = ("prompt_tokens_details", "completion_tokens_details", "cost_details")
_MAX_ERROR_MESSAGE = 500
_DRAIN_SECONDS = 0.25
_KEY_LIKE = re.compile(r"\bsk-[\w*\-]{6,}")


@dataclass(slots=True)
class _StreamState:
    started: bool = False
    finished: bool = False
    done: bool = False
    roles: set[int] = field(default_factory=set)


class OpenAICompatProvider(HTTPProvider):
    kind = "openai"
    unsupported_fields = OPENROUTER_EXTRAS

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        super().__init__(name, settings)
        options = settings.options
        self.max_line_bytes = int(options.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
        if self.max_line_bytes < 1:
            raise ValueError("options.max_line_bytes must be positive")
        self.request_usage = bool(options.get("request_usage", True))
        self.sampling_extensions = bool(options.get("sampling_extensions", False))

    def check_supported(self, request: ChatRequest) -> None:
        """vLLM, llama.cpp and LM Studio accept top_k, min_p and repetition_penalty when the
        operator says so (`options.sampling_extensions`); strict servers would refuse them."""
        if self.sampling_extensions:
            return
        super().check_supported(request)

    def build_payload(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        payload = request.model_dump(
            mode="json",
            exclude_none=True,
            exclude=set(_GATEWAY_FIELDS)
            if self.sampling_extensions
            else set(_GATEWAY_FIELDS | self.unsupported_fields),
            by_alias=True,
        )
        payload["model"] = model
        payload["messages"] = [
            message.model_dump(mode="json", exclude_none=True, by_alias=True)
            for message in request.messages
        ]
        payload["stream"] = stream
        if stream and self.request_usage:
            payload["stream_options"] = {"include_usage": True}
        return payload

    async def raise_for_status(self, response: httpx.Response) -> None:
        try:
            await super().raise_for_status(response)
        except UpstreamStatusError as exc:
            raise UpstreamStatusError(
                self.name,
                self.redact(exc.detail),
                upstream_status=exc.upstream_status,
                headers=exc.headers,
            ) from None

    def redact(self, text: str) -> str:
        """Upstream text without the upstream key, whole or in OpenAI's masked form."""
        key = self.settings.resolved_api_key()
        if key:
            text = text.replace(key, "[redacted]")
        return _KEY_LIKE.sub("[redacted]", text)

    async def probe(self) -> None:
        with map_upstream_errors(self.name):
            async with self.exchange("GET", "/models", timeout="probe") as response:
                await self.raise_for_status(response)
                if response.status_code != 200:
                    raise UpstreamProtocolError(
                        self.name, f"the model list answered {response.status_code}"
                    )

    async def list_models(self) -> list[str]:
        with map_upstream_errors(self.name):
            async with self.exchange("GET", "/models") as response:
                body = await self._read_json_body(response)
        parsed = parse_json_body(self.name, body)
        data = parsed.get("data") if isinstance(parsed, Mapping) else None
        if not isinstance(data, list):
            raise UpstreamProtocolError(self.name, "the model list has no `data` array")
        return [
            item["id"]
            for item in data
            if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]
        ]

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        payload = self.build_payload(request, model, stream=False)
        with map_upstream_errors(self.name):
            async with self.exchange(
                "POST", "/chat/completions", content=orjson.dumps(payload), timeout="whole"
            ) as response:
                body = await self._read_json_body(response)
        parsed = parse_json_body(self.name, body)
        if not isinstance(parsed, Mapping):
            raise UpstreamProtocolError(self.name, "the answer is not a JSON object")
        self._raise_in_band_error(parsed, started=False)
        choices = parsed.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UpstreamProtocolError(self.name, "the answer has no choices")
        for choice in choices:
            self._check_whole_choice(choice)
        extra = {
            key: parsed[key] for key in ("system_fingerprint", "service_tier") if key in parsed
        }
        return Completion(choices=choices, usage=self._usage(parsed.get("usage")), extra=extra)

    async def stream_batches(
        self, request: ChatRequest, model: str
    ) -> AsyncGenerator[list[StreamChunk]]:
        content = request_body(self.build_payload(request, model, stream=True))
        del request  # this frame lives as long as the stream: keep no copy of the prompt
        with map_upstream_errors(self.name):
            async with self.exchange(
                "POST", "/chat/completions", content=content, timeout="stream"
            ) as response:
                await self.raise_for_status(response)
                self.require_content_type(response, "text/event-stream")
                async with aclosing(self._read_batches(response)) as batches:
                    async for batch in batches:
                        yield batch

    async def _read_json_body(self, response: httpx.Response) -> bytes:
        await self.raise_for_status(response)
        self.require_content_type(response, "application/json")
        body = await read_bounded(response, self.max_line_bytes + 1)
        if len(body) > self.max_line_bytes:
            raise UpstreamProtocolError(
                self.name, f"the answer exceeds {self.max_line_bytes} bytes"
            )
        return body

    async def _read_batches(self, response: httpx.Response) -> AsyncGenerator[list[StreamChunk]]:
        """The chunks completed by each upstream read, parsed in one go: the per-event cost of
        a hop through the read-ahead is paid once per read."""
        state = _StreamState()
        parser = SSEParser(max_line_bytes=self.max_line_bytes)
        pieces = iter_body(response)
        async with aclosing(pieces):
            async for piece in pieces:
                batch, error = self.parse_piece(
                    partial(self._events_into, parser=parser, piece=piece, state=state), "an event"
                )
                if batch:
                    yield batch
                if error is not None:
                    raise error
                if state.done:
                    break
            if not (state.done or state.finished):
                raise UpstreamProtocolError(self.name, "the stream ended before it was complete")
            if state.done:
                await _drain(pieces)

    def _events_into(
        self, batch: list[StreamChunk], *, parser: SSEParser, piece: bytes, state: _StreamState
    ) -> None:
        for data in parser.feed_data(piece):
            chunk = self._parse_event(data, state)
            if state.done:
                return
            if chunk is not None:
                state.started = True
                batch.append(chunk)

    def _parse_event(self, data: str, state: _StreamState) -> StreamChunk | None:
        if not data:
            return None
        if data.startswith("[DONE]"):
            state.done = True
            return None
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UpstreamProtocolError(self.name, "the stream carried a malformed event") from exc
        if not isinstance(parsed, dict):
            raise UpstreamProtocolError(self.name, "the stream carried a non-object event")
        self._raise_in_band_error(parsed, started=state.started)
        raw_choices = parsed.get("choices") or []
        if not isinstance(raw_choices, list):
            raise UpstreamProtocolError(self.name, "a chunk's choices are not a list")
        choices = [self._stream_choice(choice, state) for choice in raw_choices]
        usage = self._usage(parsed.get("usage"))
        if not choices and usage is None:
            return None
        return StreamChunk(choices=choices, usage=usage)

    def _stream_choice(self, choice: Any, state: _StreamState) -> dict[str, Any]:
        if not isinstance(choice, dict):
            raise UpstreamProtocolError(self.name, "a chunk choice is not an object")
        self._raise_in_band_error(choice, started=state.started)
        if choice.get("finish_reason") == "error":
            raise self._in_band_error("the upstream ended the answer with an error", state.started)
        choice.pop("native_finish_reason", None)
        delta = choice.get("delta")
        index = choice.get("index")
        index = index if isinstance(index, int) else 0
        if isinstance(delta, dict) and index not in state.roles:
            state.roles.add(index)
            if "role" not in delta:
                choice["delta"] = {"role": "assistant", **delta}
        state.finished = state.finished or bool(choice.get("finish_reason"))
        return choice

    def _check_whole_choice(self, choice: Any) -> None:
        if not isinstance(choice, dict):
            raise UpstreamProtocolError(self.name, "an answer choice is not an object")
        self._raise_in_band_error(choice, started=False)
        choice.pop("native_finish_reason", None)
        finish_reason = choice.get("finish_reason")
        if finish_reason == "error":
            raise self._in_band_error("the upstream ended the answer with an error", False)
        if not finish_reason:
            raise UpstreamProtocolError(self.name, "the answer ended before it was complete")

    def _raise_in_band_error(self, parsed: Mapping[str, Any], *, started: bool) -> None:
        error = parsed.get("error")
        if not error:
            return
        message = "unknown error"
        upstream_status = 502
        if isinstance(error, Mapping):
            message = str(error.get("message") or message)
            upstream_status = _error_status(error.get("code")) or upstream_status
        elif isinstance(error, str):
            message = error
        raise self._in_band_error(message, started, upstream_status)

    def _in_band_error(
        self, message: str, started: bool, upstream_status: int = 502
    ) -> UpstreamError:
        message = self.redact(message)[:_MAX_ERROR_MESSAGE]
        if started:
            return UpstreamProtocolError(
                self.name, f"upstream failed mid-stream: {message}", code="upstream_stream_error"
            )
        return UpstreamStatusError(
            self.name, f"upstream error: {message}", upstream_status=upstream_status
        )

    @staticmethod
    def _usage(raw: Any) -> Usage | None:
        if not isinstance(raw, dict):
            return None
        prompt = _count(raw.get("prompt_tokens"))
        completion = _count(raw.get("completion_tokens"))
        if prompt is None or completion is None:
            return None
        cost = raw.get("cost")
        if not isinstance(cost, int | float) or isinstance(cost, bool):
            cost = None
        details = {key: raw[key] for key in _USAGE_DETAILS if isinstance(raw.get(key), Mapping)}
        return Usage(
            prompt, completion, cost=None if cost is None else float(cost), details=details
        )


async def _drain(pieces: AsyncIterator[bytes]) -> None:
    """Read what follows `[DONE]` for a moment; a body ended in time keeps its connection."""
    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in pieces:
                pass


def _error_status(code: Any) -> int | None:
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
