"""Fixed upstream answers and client request bodies, shared by every load path.

The answers contain no `$` (nginx would read a variable) and no backslash, so they can sit in an
nginx `return` string as they are.
"""

from __future__ import annotations

import json
from typing import Any

API_KEY = "bench-key-0123456789abcdef"
METRICS_TOKEN = "bench-metrics-token-0123456789"  # noqa: S105 - loopback only
MODEL = "bench-model"
CONTENT_CHUNKS = 15
WORDS = [f"word{index}" for index in range(CONTENT_CHUNKS)]
_CREATED = 1_700_000_000
_USAGE = {"prompt_tokens": 12, "completion_tokens": CONTENT_CHUNKS, "total_tokens": 27}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def completion_json() -> str:
    """A whole OpenAI `chat.completion` answer."""
    return _compact(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": _CREATED,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " ".join(WORDS)},
                    "finish_reason": "stop",
                }
            ],
            "usage": _USAGE,
        }
    )


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
    chunk = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": MODEL,
        "choices": choices,
        **extra,
    }
    return f"data: {_compact(chunk)}\n\n"


def stream_body() -> str:
    """15 content chunks, a finish chunk, a usage chunk and `[DONE]`: 18 `data:` events."""
    events = []
    for index, word in enumerate(WORDS):
        delta = {"role": "assistant", "content": word} if index == 0 else {"content": f" {word}"}
        events.append(_chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
    events.append(_chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(_chunk([], usage=_USAGE))
    events.append("data: [DONE]\n\n")
    return "".join(events)


def models_json() -> str:
    return _compact({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "b"}]})


def chat_request(model: str, *, stream: bool) -> bytes:
    """What a client sends; `stream_options` asks for the usage chunk like the OpenAI SDKs do."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Say fifteen words."}],
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return _compact(body).encode()


def count_data_events(body: bytes) -> int:
    """`data:` events in an SSE body, `[DONE]` included."""
    return sum(1 for line in body.split(b"\n") if line.startswith(b"data:"))
