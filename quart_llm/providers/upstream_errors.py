"""Errors an upstream answers with: redirects, HTTP error statuses, errors inside a 200 answer.

One rule for in-band errors, whatever the wire format: before any chunk was handed on, the
answer can still be refused properly, so it is an `UpstreamStatusError` (the error's own
status when it carries one, else 502); after one, only the stream can tell, so it is an
`UpstreamProtocolError` coded `upstream_stream_error`. Messages are the gateway's own words;
what the upstream said is added only as `UpstreamText` lets it be shown.

A redirect (3xx) is never followed and never relayed: the gateway asked one upstream, and a
`Location` may point anywhere, carry a key, or make a cross-host hop with our credentials. It
is a 502 `upstream_protocol_error` at once, the body unread and `Location` unrepeated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from quart_llm.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.upstream_bodies import read_bounded
from quart_llm.providers.upstream_text import UpstreamText

MAX_ERROR_BODY = 64 * 1024
_BAD_GATEWAY = 502


def in_band_error(
    provider: str, message: str, *, started: bool, status: int | None = None
) -> UpstreamError:
    """The error for a failure reported inside an answer (see the module's rule); `message`
    is ready to be shown (an `UpstreamText` excerpt, or the gateway's own words)."""
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


def redirect_error(provider: str, status: int) -> UpstreamProtocolError:
    """The error for an upstream's 3xx answer (see the module's rule)."""
    return UpstreamProtocolError(
        provider, f"upstream answered {status}, a redirect; upstream redirects are not followed"
    )


async def status_error(
    provider: str, response: httpx.Response, upstream_text: UpstreamText
) -> UpstreamStatusError:
    """The error for an upstream's 4xx or 5xx answer; its body is read (bounded, decoded
    where it can be) for a message to excerpt, and `Retry-After` is kept where it matters
    (429, 503)."""
    try:
        body = await read_bounded(provider, response, MAX_ERROR_BODY, upstream_text)
    except UpstreamProtocolError:  # an encoding it cannot decode: the status still stands
        body = b""
    message = _error_message(body)
    said = upstream_text.excerpt(message) if message else f"HTTP {response.status_code}"
    headers: dict[str, str] = {}
    retry_after = response.headers.get("retry-after")
    if response.status_code in (429, 503) and retry_after and retry_after.strip().isdigit():
        headers["Retry-After"] = retry_after.strip()
    return UpstreamStatusError(
        provider,
        f"upstream answered {response.status_code}: {said}",
        upstream_status=response.status_code,
        headers=headers,
    )


def _error_message(body: bytes) -> str | None:
    """The human message of an upstream error body, whatever its shape."""
    try:
        parsed: Any = orjson.loads(body.strip() or b"null")
    except orjson.JSONDecodeError:
        return None
    return _find_message(parsed)


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
