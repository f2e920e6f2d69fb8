"""Validation of a `POST /api/chat` body the way Ollama's Go decoder reacts to it."""

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

CHAT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "format",
        "options",
        "tools",
        "think",
        "keep_alive",
        "logprobs",
        "top_logprobs",
        "truncate",
        "shift",
    }
)
FIELD_TYPES: dict[str, tuple[type, str]] = {
    "model": (str, "string"),
    "messages": (list, "[]api.Message"),
    "stream": (bool, "bool"),
    "options": (dict, "map[string]interface {}"),
    "tools": (list, "api.Tools"),
}
BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


class OllamaRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ChatInput:
    data: dict[str, Any]
    model: str
    stream: bool
    messages: list[Any]
    num_predict: int | None
    images: list[str]
    unknown_fields: list[str]


def json_type(value: Any) -> str:
    match value:
        case bool():
            return "bool"
        case int() | float():
            return "number"
        case str():
            return "string"
        case list():
            return "array"
        case _:
            return "object"


def unmarshal_error(value: Any, where: str, go_type: str) -> OllamaRequestError:
    message = f"json: cannot unmarshal {json_type(value)} into {where} {go_type}"
    return OllamaRequestError(400, message)


def decode(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise OllamaRequestError(400, "missing request body")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        text = body.decode("utf-8", "replace")
        if exc.pos >= len(text.rstrip()):
            raise OllamaRequestError(400, "unexpected EOF") from None
        message = f"invalid character '{text[exc.pos]}' looking for beginning of value"
        raise OllamaRequestError(400, message) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise unmarshal_error(data, "Go value of type", "api.ChatRequest")
    return data


def check_types(data: dict[str, Any]) -> None:
    for name, (expected, go_type) in FIELD_TYPES.items():
        value = data.get(name)
        wrong_bool = expected is not bool and isinstance(value, bool)
        if value is not None and (wrong_bool or not isinstance(value, expected)):
            raise unmarshal_error(value, f"Go struct field ChatRequest.{name} of type", go_type)


def collect_images(messages: list[Any]) -> list[str]:
    images: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            where = "Go struct field ChatRequest.messages of type"
            raise unmarshal_error(message, where, "api.Message")
        for image in message.get("images") or []:
            if not isinstance(image, str):
                where = "Go struct field Message.messages.images of type"
                raise unmarshal_error(image, where, "[]uint8")
            check_base64(image)
            images.append(image)
    return images


def check_base64(text: str) -> None:
    raw = text.encode("ascii", "replace")
    try:
        base64.b64decode(raw, validate=True)
    except binascii.Error:
        position = next((i for i, byte in enumerate(raw) if byte not in BASE64_ALPHABET), len(raw))
        raise OllamaRequestError(400, f"illegal base64 data at input byte {position}") from None


def parse_chat(body: bytes) -> ChatInput:
    data = decode(body)
    check_types(data)
    model = data.get("model") or ""
    if not model:
        raise OllamaRequestError(400, "model is required")
    messages = data.get("messages") or []
    options = data.get("options") or {}
    num_predict = options.get("num_predict")
    stream = data.get("stream")
    return ChatInput(
        data=data,
        model=model,
        stream=True if stream is None else stream,
        messages=messages,
        num_predict=num_predict if type(num_predict) is int else None,
        images=collect_images(messages),
        unknown_fields=[name for name in data if name not in CHAT_FIELDS],
    )
