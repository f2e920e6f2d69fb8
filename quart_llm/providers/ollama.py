"""Ollama over its native API: `POST /api/chat` answered in NDJSON, one object a line.

The request is mapped in `ollama_payload`, the answer objects in `ollama_answer`; the pipeline
frames the lines on LF from the raw bytes (never httpx's `aiter_lines`, which also splits on
U+2028 and friends inside JSON strings). A stream is complete only with its `done: true` line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart_llm.errors import InvalidRequest, UpstreamProtocolError
from quart_llm.providers.answers import (
    Completion,
    Embeddings,
    TokenUsage,
    token_count,
)
from quart_llm.providers.embedding_vectors import checked_vectors
from quart_llm.providers.http_provider import HTTPProvider
from quart_llm.providers.ollama_answer import OllamaAnswer
from quart_llm.providers.ollama_payload import build_payload
from quart_llm.providers.stream_reading import StreamParser
from quart_llm.providers.upstream_errors import in_band_error
from quart_llm.providers.wire.stream_items import NDJSONLines
from quart_llm.schemas.chat_request import ChatRequest

_HARMLESS_VALUES: dict[str, object] = {
    "n": 1,
    "logprobs": False,
    "store": False,
    "parallel_tool_calls": True,
}
_REFUSED = ("logit_bias", "top_logprobs", "service_tier", "metadata", "reasoning_effort")


class OllamaProvider(HTTPProvider):
    """Ollama's native chat API."""

    kind = "ollama"
    unsupported_fields = frozenset((*_REFUSED, *_HARMLESS_VALUES))
    chat_path = "/api/chat"
    embed_path = "/api/embed"
    embeds_tokens = False
    models_path = "/api/tags"
    probe_path = "/"
    stream_items = NDJSONLines
    stream_accept = "application/x-ndjson"
    stream_content_types = ("application/x-ndjson", "application/json")

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

    def chat_payload(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        return build_payload(request, model, stream=stream)

    def stream_parser(self, request: ChatRequest) -> StreamParser:
        return OllamaAnswer(self.name, request, self.upstream_text)

    def parse_completion(self, parsed: Any, request: ChatRequest) -> Completion:
        answer = OllamaAnswer(self.name, request, self.upstream_text)
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

    def parse_embeddings(self, parsed: Any, count: int) -> Embeddings:
        """`embeddings` in the inputs' order; usage from `prompt_eval_count`."""
        if not isinstance(parsed, Mapping):
            raise UpstreamProtocolError(self.name, "the answer is not a JSON object")
        error = parsed.get("error")
        if error:
            message = self.upstream_text.excerpt(str(error))
            raise in_band_error(self.name, message, started=False)
        vectors = checked_vectors(self.name, parsed.get("embeddings"), count)
        prompt = token_count(parsed.get("prompt_eval_count"))
        return Embeddings(vectors, None if prompt is None else TokenUsage(prompt, 0))

    def parse_models(self, parsed: Any) -> list[str]:
        models = parsed.get("models") if isinstance(parsed, Mapping) else ()
        if models is None:
            return []
        if not isinstance(models, list):
            raise UpstreamProtocolError(self.name, "the model list has no `models` array")
        return [self._model_name(entry) for entry in models]

    def _model_name(self, entry: Any) -> str:
        if isinstance(entry, Mapping):
            for key in ("model", "name"):
                name = entry.get(key)
                if isinstance(name, str) and name:
                    return name
        raise UpstreamProtocolError(self.name, "a model list entry has no name")
