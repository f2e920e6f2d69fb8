"""Errors an upstream answers with: HTTP error statuses, and errors inside a 200 answer.

One rule for in-band errors, whatever the wire format: before any chunk was handed on, the
answer can still be refused properly, so it is an `UpstreamStatusError` (the error's own
status when it carries one, else 502); after one, only the stream can tell, so it is an
`UpstreamProtocolError` coded `upstream_stream_error`. Upstream text is shortened and, where an
adapter redacts, never carries the upstream key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from quart_llm.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.upstream_bodies import read_bounded

MAX_ERROR_BODY = 64 * 1024
MAX_ERROR_MESSAGE = 500
_BAD_GATEWAY = 502


def in_band_error(
    provider: str, message: str, *, started: bool, status: int | None = None
) -> UpstreamError:
    """The error for a failure reported inside an answer (see the module's rule)."""
    message = message[:MAX_ERROR_MESSAGE]
    if started:
        return UpstreamProtocolError(
            provider, f"upstream failed mid-stream: {message}", code="upstream_stream_error"
        )
    return UpstreamStatusError(
        provider, f"upstream error: {message}", upstream_status=status or _BAD_GATEWAY
    )


def error_status(code: Any) -> int | None:
    """An HTTP error status carried as an error's `code` (`429`, `"503"`), else None."""
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return code
    return None


async def status_error(
    provider: str, response: httpx.Response, redact: Callable[[str], str]
) -> UpstreamStatusError:
    """The error for an upstream's non-2xx answer; its body is read (bounded) for a message,
    and `Retry-After` is kept where it matters (429, 503)."""
    body = await read_bounded(response, MAX_ERROR_BODY)
    message = _error_message(body) or f"HTTP {response.status_code}"
    headers: dict[str, str] = {}
    retry_after = response.headers.get("retry-after")
    if response.status_code in (429, 503) and retry_after and retry_after.strip().isdigit():
        headers["Retry-After"] = retry_after.strip()
    return UpstreamStatusError(
        provider,
        redact(f"upstream answered {response.status_code}: {message}"),
        upstream_status=response.status_code,
        headers=headers,
    )


def _error_message(body: bytes) -> str | None:
    """The human message of an upstream error body, whatever its shape, shortened."""
    try:
        parsed: Any = orjson.loads(body.strip() or b"null")
    except orjson.JSONDecodeError:
        return None
    message = _find_message(parsed)
    if message is None:
        return None
    return message[:MAX_ERROR_MESSAGE]


def _find_message(parsed: Any) -> str | None:
    if isinstance(parsed, Mapping):
        error = parsed.get("error")
        if isinstance(error, str):
            return error
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(parsed.get("message"), str):
            return str(parsed["message"])
    return None
