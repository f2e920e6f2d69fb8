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


_OLLAMA_CREATED_AT = "2023-11-14T22:13:20.000000Z"
_OLLAMA_METRICS = {
    "total_duration": 4_883_583_458,
    "load_duration": 1_334_875,
    "prompt_eval_count": _USAGE["prompt_tokens"],
    "prompt_eval_duration": 342_546_000,
    "eval_count": _USAGE["completion_tokens"],
    "eval_duration": 4_535_599_000,
}


def _ollama_line(content: str, **final: Any) -> str:
    line = {
        "model": MODEL,
        "created_at": _OLLAMA_CREATED_AT,
        "message": {"role": "assistant", "content": content},
        "done": bool(final),
        **final,
    }
    return _compact(line)


def ollama_chat_json() -> str:
    """A whole Ollama `/api/chat` answer (`"stream": false`): the final line, all content."""
    return _ollama_line(" ".join(WORDS), done_reason="stop", **_OLLAMA_METRICS)


def ollama_stream_body() -> str:
    """Ollama's NDJSON stream: 15 content lines, then the `done` line with the counts."""
    lines = [_ollama_line(word if index == 0 else f" {word}") for index, word in enumerate(WORDS)]
    lines.append(_ollama_line("", done_reason="stop", **_OLLAMA_METRICS))
    return "".join(line + "\n" for line in lines)


def ollama_tags_json() -> str:
    return _compact({"models": [{"name": MODEL, "model": MODEL, "size": 1}]})


def count_ndjson_lines(body: bytes) -> int:
    return sum(1 for line in body.split(b"\n") if line.strip())


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


def ollama_chat_request(model: str, *, stream: bool) -> bytes:
    """What an Ollama client sends to `/api/chat` (the direct and passthrough paths)."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Say fifteen words."}],
        "stream": stream,
    }
    return _compact(body).encode()


EMBEDDING_DIMENSIONS = 8


def embeddings_json() -> str:
    """A whole OpenAI `/v1/embeddings` answer: one short vector (the route's work, not the
    vector's size, is what the bench measures)."""
    vector = [round(index / EMBEDDING_DIMENSIONS, 3) for index in range(EMBEDDING_DIMENSIONS)]
    return _compact(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": vector}],
            "model": MODEL,
            "usage": {"prompt_tokens": 4, "total_tokens": 4},
        }
    )


_PROMPT = "Say fifteen words."


def messages_request(model: str, *, stream: bool) -> bytes:
    """What Anthropic's SDK sends to `/v1/messages`."""
    body = {
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": _PROMPT}],
        "stream": stream,
    }
    return _compact(body).encode()


def responses_request(model: str, *, stream: bool) -> bytes:
    """What OpenAI's SDK sends to `/v1/responses`."""
    return _compact({"model": model, "input": _PROMPT, "stream": stream}).encode()


def embeddings_request(model: str) -> bytes:
    """What OpenAI's SDK sends to `/v1/embeddings`."""
    return _compact({"model": model, "input": _PROMPT}).encode()


def count_data_events(body: bytes) -> int:
    """`data:` events in an SSE body, `[DONE]` included."""
    return sum(1 for line in body.split(b"\n") if line.startswith(b"data:"))
