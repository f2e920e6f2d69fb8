"""Server-Sent Events as the OpenAI SDKs read them: `data:` lines and `:` comments only.

No `id:`, `event:` or `retry:` lines (openai-python breaks on them), every event ends with a
blank line, and no hop-by-hop header is set (HTTP/2 forbids them).
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
