"""Any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, OpenAI itself.

Streams are read as SSE with our own framer (never httpx's `aiter_lines`, which splits inside
JSON strings on U+2028 and friends). A stream is complete only with `[DONE]` or a
`finish_reason`; anything else is reported as a failure, never as a clean end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import orjson

from quart_llm.config import ProviderSettings
from quart_llm.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from quart_llm.framing import DEFAULT_MAX_LINE_BYTES, LineTooLongError
from quart_llm.providers.base import map_upstream_errors
from quart_llm.providers.http import HTTPProvider, parse_json_body, read_bounded
from quart_llm.providers.types import Completion, StreamChunk, Usage
from quart_llm.request_ids import REQUEST_ID_HEADER, current_request_id
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.sse_decoder import iter_sse_events

_GATEWAY_FIELDS = frozenset({"provider", "model", "messages", "stream", "stream_options"})
_USAGE_DETAILS = ("prompt_tokens_details", "completion_tokens_details", "cost_details")
_MAX_BODY = 64 * 1024 * 1024


class OpenAICompatProvider(HTTPProvider):
    kind = "openai"

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        super().__init__(name, settings)
        options = settings.options
        self.max_line_bytes = int(options.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
        self.request_usage = bool(options.get("request_usage", True))

    def build_payload(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        payload = request.model_dump(
            mode="json", exclude_none=True, exclude=set(_GATEWAY_FIELDS), by_alias=True
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

    def request_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    async def probe(self) -> None:
        with map_upstream_errors(self.name):
            response = await self.client.get("/models")
            await self.raise_for_status(response)

    async def list_models(self) -> list[str]:
        with map_upstream_errors(self.name):
            response = await self.client.get("/models")
            await self.raise_for_status(response)
        parsed = parse_json_body(self.name, response.content)
        data = parsed.get("data") if isinstance(parsed, Mapping) else None
        if not isinstance(data, list):
            raise UpstreamProtocolError(self.name, "the model list has no `data` array")
        return [str(item["id"]) for item in data if isinstance(item, Mapping) and "id" in item]

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        payload = self.build_payload(request, model, stream=False)
        with map_upstream_errors(self.name):
            async with self.client.stream(
                "POST",
                "/chat/completions",
                content=orjson.dumps(payload),
                headers=self.request_headers(),
                timeout=self.whole_answer_timeout(),
            ) as response:
                await self.raise_for_status(response)
                self.require_content_type(response, "application/json")
                body = await read_bounded(response, _MAX_BODY)
        parsed = parse_json_body(self.name, body)
        if not isinstance(parsed, Mapping):
            raise UpstreamProtocolError(self.name, "the answer is not a JSON object")
        self._raise_in_band_error(parsed, started=False)
        choices = parsed.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UpstreamProtocolError(self.name, "the answer has no choices")
        for choice in choices:
            if isinstance(choice, Mapping) and choice.get("error"):
                self._raise_in_band_error(choice, started=False)
        extra = {
            key: parsed[key] for key in ("system_fingerprint", "service_tier") if key in parsed
        }
        return Completion(choices=choices, usage=self._usage(parsed.get("usage")), extra=extra)

    async def stream_chat(self, request: ChatRequest, model: str) -> AsyncIterator[StreamChunk]:
        payload = self.build_payload(request, model, stream=True)
        with map_upstream_errors(self.name):
            async with self.client.stream(
                "POST",
                "/chat/completions",
                content=orjson.dumps(payload),
                headers=self.request_headers(),
            ) as response:
                await self.raise_for_status(response)
                self.require_content_type(response, "text/event-stream")
                async for chunk in self._read_events(response):
                    yield chunk

    async def _read_events(self, response: httpx.Response) -> AsyncIterator[StreamChunk]:
        started = False
        finished = False
        try:
            async for event in iter_sse_events(
                response.aiter_raw(), max_line_bytes=self.max_line_bytes
            ):
                data = event.data
                if not data:
                    continue
                if data.startswith("[DONE]"):
                    return
                chunk = self._parse_chunk(data, started=started)
                if chunk is None:
                    continue
                started = started or bool(chunk.choices)
                finished = finished or any(c.get("finish_reason") for c in chunk.choices)
                yield chunk
        except LineTooLongError as exc:
            raise UpstreamProtocolError(self.name, f"an event was too long ({exc})") from exc
        if not finished:
            raise UpstreamProtocolError(self.name, "the stream ended before it was complete")

    def _parse_chunk(self, data: str, *, started: bool) -> StreamChunk | None:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UpstreamProtocolError(self.name, "the stream carried a malformed event") from exc
        if not isinstance(parsed, Mapping):
            raise UpstreamProtocolError(self.name, "the stream carried a non-object event")
        self._raise_in_band_error(parsed, started=started)
        raw_choices = parsed.get("choices") or []
        if not isinstance(raw_choices, list):
            raise UpstreamProtocolError(self.name, "a chunk's choices are not a list")
        choices: list[dict[str, Any]] = []
        for choice in raw_choices:
            if not isinstance(choice, dict):
                raise UpstreamProtocolError(self.name, "a chunk choice is not an object")
            if choice.get("finish_reason") == "error":
                raise self._mid_stream_error("the upstream ended the answer with an error")
            choice.pop("native_finish_reason", None)
            choices.append(choice)
        usage = self._usage(parsed.get("usage"))
        if not choices and usage is None:
            return None
        return StreamChunk(choices=choices, usage=usage)

    def _raise_in_band_error(self, parsed: Mapping[str, Any], *, started: bool) -> None:
        error = parsed.get("error")
        if not error:
            return
        message = "unknown error"
        upstream_status = 502
        if isinstance(error, Mapping):
            message = str(error.get("message") or message)
            code = error.get("code")
            if isinstance(code, int) and 400 <= code <= 599:
                upstream_status = code
        elif isinstance(error, str):
            message = error
        message = message[:500]
        if started:
            raise self._mid_stream_error(message)
        raise UpstreamStatusError(
            self.name, f"upstream error: {message}", upstream_status=upstream_status
        )

    def _mid_stream_error(self, message: str) -> UpstreamError:
        return UpstreamProtocolError(
            self.name, f"upstream failed mid-stream: {message[:500]}", code="upstream_stream_error"
        )

    @staticmethod
    def _usage(raw: Any) -> Usage | None:
        if not isinstance(raw, Mapping):
            return None
        prompt = raw.get("prompt_tokens")
        completion = raw.get("completion_tokens")
        if not isinstance(prompt, int) or not isinstance(completion, int):
            return None
        cost = raw.get("cost")
        details = {key: raw[key] for key in _USAGE_DETAILS if isinstance(raw.get(key), Mapping)}
        return Usage(
            prompt,
            completion,
            cost=float(cost) if isinstance(cost, int | float) else None,
            details=details,
        )
