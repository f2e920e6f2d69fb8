"""Shared plumbing of the providers that speak HTTP: one pooled httpx client each.

Upstream requests go over HTTP/1.1 on purpose: leaving an httpx HTTP/2 stream early does not
reset it, so the upstream would keep generating (see STACK_NOTES, httpx). Over HTTP/1.1 closing
the response drops the connection, which every upstream notices at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from quart_llm.config import ProviderSettings
from quart_llm.errors import UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.base import Provider
from quart_llm.request_ids import REQUEST_ID_HEADER, current_request_id

_MAX_ERROR_BODY = 64 * 1024
_MAX_ERROR_MESSAGE = 500


class HTTPProvider(Provider):
    """A provider reached over HTTP; subclasses add the wire format."""

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        super().__init__(name, settings)
        self._client: httpx.AsyncClient | None = None
        self.base_url = str(settings.base_url).rstrip("/")

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError(f"provider {self.name!r} used before start()")
        return self._client

    def default_headers(self) -> dict[str, str]:
        headers = {"User-Agent": "quart_llm"}
        key = self.settings.resolved_api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def start(self) -> None:
        if self._client is not None:
            return
        timeouts = self.settings.timeouts
        limits = httpx.Limits(
            max_connections=self.settings.max_connections,
            max_keepalive_connections=self.settings.max_connections,
            keepalive_expiry=30.0,
        )
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=build_transport(self.settings.transport, limits),
            headers=self.default_headers(),
            http1=True,
            http2=False,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=max(timeouts.first_byte, timeouts.idle),
                write=timeouts.connect,
                pool=timeouts.connect,
            ),
            limits=limits,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def request_headers(self, accept: str | None = None) -> dict[str, str]:
        """Per-request headers: JSON body, and the request id so upstream logs correlate."""
        headers = {"Content-Type": "application/json"}
        if accept is not None:
            headers["Accept"] = accept
        request_id = current_request_id.get()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return headers

    def whole_answer_timeout(self) -> httpx.Timeout:
        """For non-streamed answers the first byte may come only at the very end."""
        timeouts = self.settings.timeouts
        return httpx.Timeout(
            connect=timeouts.connect,
            read=timeouts.total,
            write=timeouts.connect,
            pool=timeouts.connect,
        )

    async def raise_for_status(self, response: httpx.Response) -> None:
        """Map a non-2xx upstream answer to an UpstreamStatusError (body read, bounded)."""
        if response.status_code < 400:
            return
        body = await read_bounded(response, _MAX_ERROR_BODY)
        message = upstream_error_message(body) or f"HTTP {response.status_code}"
        headers: dict[str, str] = {}
        retry_after = response.headers.get("retry-after")
        if response.status_code in (429, 503) and retry_after and retry_after.strip().isdigit():
            headers["Retry-After"] = retry_after.strip()
        raise UpstreamStatusError(
            self.name,
            f"upstream answered {response.status_code}: {message}",
            upstream_status=response.status_code,
            headers=headers,
        )

    def require_content_type(self, response: httpx.Response, *expected: str) -> None:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in expected:
            raise UpstreamProtocolError(
                self.name,
                f"unexpected content type {content_type or 'none'!r}; "
                f"expected {' or '.join(expected)}",
            )


def build_transport(kind: str, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """What sits under the httpx client API, chosen by measurement (bench/): aiohttp's
    connection pool carries about twice the requests of httpcore's on one core."""
    if kind == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        return AiohttpTransport(limits=limits, trust_env=False)
    return httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False, trust_env=False)


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """Read at most `limit` bytes of a response body."""
    collected = bytearray()
    async for piece in response.aiter_bytes():
        collected += piece
        if len(collected) >= limit:
            break
    return bytes(collected[:limit])


def upstream_error_message(body: bytes) -> str | None:
    """The human message of an upstream error body, whatever its shape, shortened."""
    try:
        parsed: Any = orjson.loads(body.strip() or b"null")
    except orjson.JSONDecodeError:
        return None
    message = _find_message(parsed)
    if message is None:
        return None
    return message[:_MAX_ERROR_MESSAGE]


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


def parse_json_body(provider: str, body: bytes) -> Any:
    """Parse an upstream JSON body, tolerating the whitespace OpenRouter may send first."""
    try:
        return orjson.loads(body.strip())
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(provider, "the upstream sent malformed JSON") from exc
