"""Any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, OpenAI itself.

Only OpenAI's own request fields are forwarded; OpenRouter's sampling extras are refused (400)
before any I/O, as strict servers reject them, unless `options.sampling_extensions` says the
server takes them. The output limit goes as `max_tokens` (or `max_completion_tokens`) as the
client named it, and a limit the gateway set as `max_tokens`, the name every such server reads;
`options.max_tokens_field = "max_completion_tokens"` sends it under that name instead, for
servers that refuse `max_tokens` (OpenAI's reasoning models). Streams are Server-Sent Events
(parsed in `openai_stream`); a whole answer is complete only with a `finish_reason` on every
choice. Errors inside a 200 answer follow the pipeline's in-band rule; what the upstream says
is shown as `upstream_text` allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import UpstreamProtocolError
from quart_llm.providers.answers import (
    Completion,
    EmbeddingInputs,
    Embeddings,
    TokenUsage,
    token_count,
)
from quart_llm.providers.embedding_vectors import checked_vectors
from quart_llm.providers.http_provider import HTTPProvider
from quart_llm.providers.openai_stream import OpenAIStreamParser
from quart_llm.providers.openai_wire import parse_usage, reported_error
from quart_llm.providers.stream_reading import StreamParser
from quart_llm.providers.upstream_errors import in_band_error
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.providers.wire.stream_items import SSEData
from quart_llm.schemas.chat_request import ChatRequest

_GATEWAY_FIELDS = frozenset({"provider", "model", "messages", "stream", "stream_options"})
OPENROUTER_EXTRAS = frozenset({"top_k", "min_p", "repetition_penalty"})
_LIMIT_FIELDS = ("max_tokens", "max_completion_tokens")


class OpenAICompatProvider(HTTPProvider):
    """Any server that speaks OpenAI's chat completions API."""

    kind = "openai"
    unsupported_fields = OPENROUTER_EXTRAS
    chat_path = "/chat/completions"
    embed_path = "/embeddings"
    models_path = "/models"
    probe_path = "/models"
    stream_items = SSEData
    stream_accept = "text/event-stream"
    stream_content_types = ("text/event-stream",)

    def __init__(
        self, name: str, settings: ProviderSettings, upstream_text: UpstreamText | None = None
    ) -> None:
        super().__init__(name, settings, upstream_text)
        self.request_usage = bool(settings.options.get("request_usage", True))
        self.sampling_extensions = bool(settings.options.get("sampling_extensions", False))
        limit_field = settings.options.get("max_tokens_field", "max_tokens")
        if limit_field not in _LIMIT_FIELDS:
            raise ValueError("options.max_tokens_field must be " + " or ".join(_LIMIT_FIELDS))
        self.max_tokens_field: str = limit_field

    def check_supported(self, request: ChatRequest) -> None:
        """vLLM, llama.cpp and LM Studio accept top_k, min_p and repetition_penalty when the
        operator says so (`options.sampling_extensions`); strict servers would refuse them."""
        if not self.sampling_extensions:
            super().check_supported(request)

    def chat_payload(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        excluded = (
            _GATEWAY_FIELDS
            if self.sampling_extensions
            else _GATEWAY_FIELDS | (self.unsupported_fields)
        )
        payload = request.model_dump(
            mode="json", exclude_none=True, exclude=set(excluded), by_alias=True
        )
        payload["model"] = model
        payload["messages"] = [
            message.model_dump(mode="json", exclude_none=True, by_alias=True)
            for message in request.messages
        ]
        payload["stream"] = stream
        if self.max_tokens_field == "max_completion_tokens" and "max_tokens" in payload:
            payload.setdefault("max_completion_tokens", payload.pop("max_tokens"))
        if stream and self.request_usage:
            payload["stream_options"] = {"include_usage": True}
        return payload

    def parse_models(self, parsed: Any) -> list[str]:
        data = parsed.get("data") if isinstance(parsed, Mapping) else None
        if not isinstance(data, list):
            raise UpstreamProtocolError(self.name, "the model list has no `data` array")
        return [
            item["id"]
            for item in data
            if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]
        ]

    def parse_completion(self, parsed: Any, request: ChatRequest) -> Completion:
        if not isinstance(parsed, Mapping):
            raise UpstreamProtocolError(self.name, "the answer is not a JSON object")
        self._raise_reported_error(parsed)
        choices = parsed.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UpstreamProtocolError(self.name, "the answer has no choices")
        for choice in choices:
            self._check_whole_choice(choice)
        extra = {
            key: parsed[key] for key in ("system_fingerprint", "service_tier") if key in parsed
        }
        return Completion(choices=choices, usage=parse_usage(parsed.get("usage")), extra=extra)

    def embedding_payload(
        self, inputs: EmbeddingInputs, model: str, dimensions: int | None, user: str | None
    ) -> dict[str, Any]:
        """Floats asked for by name: some servers default to base64. The end-user id goes
        on as chat's does."""
        payload = super().embedding_payload(inputs, model, dimensions, user)
        payload["encoding_format"] = "float"
        if user is not None:
            payload["user"] = user
        return payload

    def parse_embeddings(self, parsed: Any, count: int) -> Embeddings:
        """`data` items put in the order of their `index`; usage from `prompt_tokens`."""
        if not isinstance(parsed, Mapping):
            raise UpstreamProtocolError(self.name, "the answer is not a JSON object")
        self._raise_reported_error(parsed)
        data = parsed.get("data")
        if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
            raise UpstreamProtocolError(self.name, "the embeddings answer has no `data` array")
        indexes = [item.get("index") for item in data]
        if sorted(i for i in indexes if isinstance(i, int)) != list(range(len(data))):
            raise UpstreamProtocolError(self.name, "the embeddings' indexes are not 0 to n-1")
        ordered = sorted(data, key=lambda item: item["index"])
        vectors = checked_vectors(self.name, [item.get("embedding") for item in ordered], count)
        usage = parsed.get("usage")
        prompt = token_count(usage.get("prompt_tokens")) if isinstance(usage, Mapping) else None
        return Embeddings(vectors, None if prompt is None else TokenUsage(prompt, 0))

    def stream_parser(self, request: ChatRequest) -> StreamParser:
        return OpenAIStreamParser(self.name, self.upstream_text)

    def _raise_reported_error(self, parsed: Mapping[str, Any]) -> None:
        reported = reported_error(parsed)
        if reported is not None:
            message = self.upstream_text.excerpt(reported[0])
            raise in_band_error(self.name, message, started=False, status=reported[1])

    def _check_whole_choice(self, choice: Any) -> None:
        if not isinstance(choice, dict):
            raise UpstreamProtocolError(self.name, "an answer choice is not an object")
        self._raise_reported_error(choice)
        choice.pop("native_finish_reason", None)
        finish_reason = choice.get("finish_reason")
        if finish_reason == "error":
            raise in_band_error(
                self.name, "the upstream ended the answer with an error", started=False
            )
        if not finish_reason:
            raise UpstreamProtocolError(self.name, "the answer ended before it was complete")
