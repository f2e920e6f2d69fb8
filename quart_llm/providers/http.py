"""Shared plumbing of the providers that speak HTTP: one pooled httpx client each.

Upstream requests go over HTTP/1.1 on purpose: leaving an httpx HTTP/2 stream early does not
reset it, so the upstream would keep generating (see STACK_NOTES, httpx). Over HTTP/1.1 closing
the response drops the connection, which every upstream notices at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal, cast

import httpx
import orjson

from quart_llm.config import ProviderSettings
from quart_llm.errors import UpstreamError, UpstreamProtocolError, UpstreamStatusError
from quart_llm.framing import LineTooLongError
from quart_llm.providers.base import Provider
from quart_llm.providers.types import StreamChunk
from quart_llm.request_ids import REQUEST_ID_HEADER, current_request_id

_MAX_ERROR_BODY = 64 * 1024
_MAX_ERROR_MESSAGE = 500

TimeoutKind = Literal["whole", "stream", "probe"]
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode("latin-1")


class HTTPProvider(Provider):
    """A provider reached over HTTP; subclasses add the wire format.

    Requests go straight to the httpx transport with a prepared URL and headers: the
    `AsyncClient` layer above it (URL merging, cookie jar, auth and redirect machinery) cost
    a seventh of a whole answer in the benchmark and offers nothing a gateway wants — an
    upstream's cookies must never be replayed on other callers' requests.
    """

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        super().__init__(name, settings)
        self._transport: httpx.AsyncBaseTransport | None = None
        self.base_url = str(settings.base_url).rstrip("/")
        self._urls: dict[str, httpx.URL] = {}
        # Headers as httpx keeps them (bytes), Host included: a request built from a ready
        # stream and raw headers costs 2 µs instead of 8 (measured), skipping httpx's encoding.
        self._base_headers = [
            (b"Host", httpx.URL(self.base_url).netloc),
            *(
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in self.default_headers().items()
            ),
        ]
        timeouts = settings.timeouts
        self._timeouts = {
            # The first byte of a whole answer may come only at its very end.
            "whole": _timeout(timeouts.connect, timeouts.total),
            # Streams are read through UpstreamStream, whose watchdog times the first byte, the
            # gaps and the total exactly. A socket read timeout as well would re-arm a timer on
            # every upstream read: 6 % of the gateway's CPU on paced streams (py-spy, bench/).
            "stream": _timeout(timeouts.connect, None),
            "probe": _timeout(timeouts.connect, timeouts.connect),
        }

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        if self._transport is None:
            raise RuntimeError(f"provider {self.name!r} used before start()")
        return self._transport

    def default_headers(self) -> dict[str, str]:
        headers = {"User-Agent": "quart_llm", "Accept-Encoding": "identity"}
        key = self.settings.resolved_api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def start(self) -> None:
        if self._transport is not None:
            return
        limits = httpx.Limits(
            max_connections=self.settings.max_connections,
            max_keepalive_connections=self.settings.max_connections,
            keepalive_expiry=30.0,
        )
        self._transport = build_transport(self.settings.transport, limits)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None

    def url(self, path: str) -> httpx.URL:
        """The upstream URL of `path` (relative to base_url), parsed once."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url

    @asynccontextmanager
    async def exchange(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        accept: str | None = None,
        timeout: TimeoutKind = "stream",
    ) -> AsyncIterator[httpx.Response]:
        """Send one request; the response body is read inside the block and closed after it.
        httpx exceptions are left to the caller's `map_upstream_errors`."""
        headers = self._base_headers.copy()
        if content is not None:
            headers.append((b"Content-Type", b"application/json"))
            headers.append((b"Content-Length", b"%d" % len(content)))
        if accept is not None:
            headers.append((b"Accept", accept.encode("latin-1")))
        request_id = current_request_id.get()
        if request_id:
            headers.append((_REQUEST_ID_HEADER, request_id.encode("latin-1")))
        request = httpx.Request(
            method,
            self.url(path),
            headers=headers,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": self._timeouts[timeout]},
        )
        request.read()
        response = await self.transport.handle_async_request(request)
        try:
            yield response
        finally:
            await response.aclose()

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

    def parse_piece(
        self, parse: Callable[[list[StreamChunk]], None], unit: str
    ) -> tuple[list[StreamChunk], UpstreamError | None]:
        """Run `parse`, which appends the chunks one upstream read completed. A failure comes
        back beside the chunks parsed before it: the caller hands those on first, as it would
        have one at a time, then raises."""
        batch: list[StreamChunk] = []
        try:
            parse(batch)
        except LineTooLongError as exc:
            error = UpstreamProtocolError(self.name, f"{unit} was too long ({exc})")
            error.__cause__ = exc
            return batch, error
        except UpstreamError as exc:
            return batch, exc
        return batch, None

    def require_content_type(self, response: httpx.Response, *expected: str) -> None:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in expected:
            raise UpstreamProtocolError(
                self.name,
                f"unexpected content type {content_type or 'none'!r}; "
                f"expected {' or '.join(expected)}",
            )


def _timeout(connect: float, read: float | None) -> dict[str, float | None]:
    """httpx's per-request timeout extension (what `httpx.Timeout.as_dict()` gives)."""
    return {"connect": connect, "read": read, "write": connect, "pool": connect}


def build_transport(kind: str, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """What sits under the httpx API, chosen by measurement (bench/): aiohttp's connection
    pool carries about twice the requests of httpcore's on one core."""
    if kind == "aiohttp":
        from quart_llm.providers.transport import AiohttpTransport

        return AiohttpTransport(limits)
    return httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False, trust_env=False)


def iter_body(response: httpx.Response) -> AsyncGenerator[bytes]:
    """The body as it arrives. Requests ask for `identity`; a body encoded anyway is decoded
    by httpx, otherwise the transport's pieces are taken as they are (no re-chunking).
    Every httpx stream, ours included, iterates with an async generator."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and isinstance(response.stream, httpx.AsyncByteStream):
        return cast(AsyncGenerator[bytes], response.stream.__aiter__())
    return cast(AsyncGenerator[bytes], response.aiter_bytes())


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """Read at most `limit` bytes of a response body."""
    collected = bytearray()
    async for piece in iter_body(response):
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


def request_body(payload: Any) -> bytes:
    """An upstream request body. orjson writes into a buffer of 4 KiB at least and hands it
    over as it is; a stream keeps its request for its whole life, so the bytes are copied to
    their own size (measured: 4 KiB per open stream)."""
    return bytes(memoryview(orjson.dumps(payload)))


def parse_json_body(provider: str, body: bytes) -> Any:
    """Parse an upstream JSON body, tolerating the whitespace OpenRouter may send first."""
    try:
        return orjson.loads(body.strip())
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(provider, "the upstream sent malformed JSON") from exc
