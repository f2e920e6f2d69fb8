"""Parsing and recording of a chat completions request for the OpenAI-compatible simulator."""

from dataclasses import dataclass
from typing import Any

import orjson

OPENAI_FIELDS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p",
        "frequency_penalty", "presence_penalty", "seed", "stop", "logit_bias", "logprobs",
        "top_logprobs", "n", "max_tokens", "max_completion_tokens", "tools", "tool_choice",
        "parallel_tool_calls", "response_format", "modalities", "audio", "prediction",
        "verbosity", "reasoning_effort", "user", "safety_identifier", "prompt_cache_key",
        "metadata", "store", "service_tier", "functions", "function_call", "web_search_options",
    }
)  # fmt: skip
OPENROUTER_FIELDS = OPENAI_FIELDS | {
    "models", "route", "provider", "reasoning", "transforms", "plugins", "top_k", "min_p",
    "top_a", "repetition_penalty", "session_id", "usage", "debug",
}  # fmt: skip


class ChatRequestError(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class ChatInput:
    data: dict[str, Any]
    model: str
    messages: list[Any]
    stream: bool
    include_usage: bool
    obfuscate: bool
    limit: int | None
    images: list[str]
    unknown_fields: list[str]


def parse_chat(body: bytes, *, openrouter: bool) -> ChatInput:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ChatRequestError("We could not parse the JSON body of your request.") from None
    if not isinstance(data, dict):
        raise ChatRequestError("The request body must be a JSON object.")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise ChatRequestError("you must provide a model parameter", "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatRequestError("Missing required parameter: 'messages'.", "messages")
    options = data.get("stream_options")
    options = options if isinstance(options, dict) else {}
    known = OPENROUTER_FIELDS if openrouter else OPENAI_FIELDS
    return ChatInput(
        data=data,
        model=model,
        messages=messages,
        stream=data.get("stream") is True,
        include_usage=options.get("include_usage") is True,
        obfuscate=options.get("include_obfuscation") is not False,
        limit=length_limit(data),
        images=image_urls(messages),
        unknown_fields=[name for name in data if name not in known],
    )


def length_limit(data: dict[str, Any]) -> int | None:
    limits = [data.get("max_tokens"), data.get("max_completion_tokens")]
    values = [value for value in limits if type(value) is int]
    return min(values) if values else None


def image_urls(messages: list[Any]) -> list[str]:
    urls: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            image = part.get("image_url") if isinstance(part, dict) else None
            url = image.get("url") if isinstance(image, dict) else image
            if isinstance(url, str):
                urls.append(url)
    return urls
