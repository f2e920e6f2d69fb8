"""OpenAI-shaped chat requests as bodies for Ollama's native `POST /api/chat`.

Only the options the client set are sent, so the model's own defaults (its Modelfile) apply
otherwise; `stream` is always explicit because Ollama streams unless told not to. Ollama fetches
no URLs: images must arrive inline as base64 data URLs, and anything else is refused (400)
rather than dropped. Tool-call arguments travel as JSON strings in OpenAI's shape and as
objects in Ollama's, so they are parsed here and refused when they are not a JSON object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from quart_llm.errors import InvalidRequest
from quart_llm.schemas.chat_request import (
    ChatMessage,
    ChatRequest,
    ImagePart,
    ResponseFormat,
    ToolCall,
)

_OPTIONS: tuple[tuple[str, str], ...] = (
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("seed", "seed"),
    ("presence_penalty", "presence_penalty"),
    ("frequency_penalty", "frequency_penalty"),
    ("top_k", "top_k"),
    ("min_p", "min_p"),
    ("repetition_penalty", "repeat_penalty"),
)


def build_payload(request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
    """The `/api/chat` body for `request`, addressed to the upstream's `model`."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": _map_messages(request.messages),
        "stream": stream,
    }
    options = _map_options(request)
    if options:
        payload["options"] = options
    output_format = _map_format(request.response_format)
    if output_format is not None:
        payload["format"] = output_format
    if request.tools and request.tool_choice != "none":
        payload["tools"] = [
            tool.model_dump(mode="json", exclude_none=True) for tool in request.tools
        ]
    return payload


def _map_options(request: ChatRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for field, option in _OPTIONS:
        value = getattr(request, field)
        if value is not None:
            options[option] = value
    if request.stop_sequences is not None:
        options["stop"] = request.stop_sequences
    if request.output_limit is not None:
        options["num_predict"] = request.output_limit
    return options


def _map_format(response_format: ResponseFormat | None) -> str | dict[str, Any] | None:
    """`"json"` for any JSON, the schema itself for a JSON schema, None for plain text."""
    if response_format is None or response_format.type == "text":
        return None
    schema = response_format.json_schema.schema_ if response_format.json_schema else None
    if response_format.type == "json_schema" and schema is not None:
        return schema
    return "json"


def _map_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    tool_names: dict[str, str] = {}
    return [_map_message(message, index, tool_names) for index, message in enumerate(messages)]


def _map_message(message: ChatMessage, index: int, tool_names: dict[str, str]) -> dict[str, Any]:
    if message.role in ("system", "developer"):
        return {"role": "system", "content": message.text()}
    if message.role == "tool":
        mapped: dict[str, Any] = {
            "role": "tool",
            "content": message.text(),
            "tool_call_id": message.tool_call_id,
        }
        name = tool_names.get(message.tool_call_id or "")
        if name is not None:
            mapped["tool_name"] = name
        return mapped
    mapped = {"role": message.role, "content": message.text()}
    images = _images(message, index)
    if images:
        mapped["images"] = images
    if message.tool_calls:
        mapped["tool_calls"] = [
            _map_tool_call(call, f"messages[{index}].tool_calls[{position}].function.arguments")
            for position, call in enumerate(message.tool_calls)
        ]
        tool_names.update((call.id, call.function.name) for call in message.tool_calls)
    return mapped


def _images(message: ChatMessage, index: int) -> list[str]:
    if not isinstance(message.content, list):
        return []
    param = f"messages[{index}].content"
    return [
        _image_data(part.image_url.url, param)
        for part in message.content
        if isinstance(part, ImagePart)
    ]


def _image_data(url: str, param: str) -> str:
    """The base64 payload of a `data:image/...;base64,` URL; any other URL is refused."""
    if url[:5].lower() != "data:":
        raise InvalidRequest(
            "Ollama needs images inline as data URLs (`data:image/png;base64,...`); "
            "it cannot fetch image URLs",
            param=param,
            code="unsupported_image_url",
        )
    header, _, data = url[5:].partition(",")
    header = header.lower()
    if not (header.startswith("image/") and header.endswith(";base64")) or not data:
        raise InvalidRequest(
            "an image data URL must look like `data:image/<type>;base64,<data>`",
            param=param,
            code="invalid_image_url",
        )
    return data


def _map_tool_call(call: ToolCall, param: str) -> dict[str, Any]:
    return {
        "id": call.id,
        "function": {"name": call.function.name, "arguments": _arguments(call, param)},
    }


def _arguments(call: ToolCall, param: str) -> dict[str, Any]:
    raw = call.function.arguments
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidRequest(
            f"the arguments of tool call {call.id!r} must be a JSON object encoded as a string",
            param=param,
        )
    return parsed
