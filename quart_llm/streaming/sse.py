"""Server-Sent Events as the SDKs read them: `data:` lines, `:` comments, and `event:` names
where the API has them.

Chat streams carry no `id:`, `event:` or `retry:` lines (openai-python breaks on them in chat
streams); the Messages and Responses APIs name every event (`encode_event`), as their SDKs
expect. Every event ends with a blank line, and no hop-by-hop header is set (HTTP/2 forbids
them).
"""

from __future__ import annotations

from typing import Any

import orjson

DONE_DATA = "[DONE]"
"""The data of the event that ends a complete chat answer (the OpenAPI document names it)."""
DONE = f"data: {DONE_DATA}\n\n".encode()
KEEPALIVE = b": keep-alive\n\n"
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
}


def encode_data(payload: Any) -> bytes:
    """One event carrying compact JSON: orjson never emits a raw newline, so one line."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def encode_event(name: str, payload: Any) -> bytes:
    """One named event (`event:` then `data:`) carrying compact JSON."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
