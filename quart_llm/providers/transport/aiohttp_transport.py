"""What sits under the httpx API: a lean httpx transport over aiohttp's connection pool.

Measured (bench/): aiohttp's pool carries about twice the requests of httpcore's on one core,
and httpx-aiohttp's general-purpose adapter gives back a third of that in per-request
conversions (proxy and auth plumbing, a new ClientTimeout each time, header re-mapping). This
adapter does only what the providers need: one session, timeouts built once per distinct
value, the body relayed as it arrives. aiohttp's exceptions are raised as they are:
`upstream_errors()` (in `errors`) maps them, and httpx's, to the gateway's in one step.

Closing a response before its body ended drops the connection (aiohttp will not reuse a
connection with unread bytes), so an upstream always notices a client that went away.

The response does not hold its request (httpx's client sets `response.request` itself when
a request goes through one): the request carries its body, the whole prompt, and a streamed
response lives for minutes after that body was sent.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx

_TIMEOUT_KEYS = ("connect", "read", "pool")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncBaseTransport` over one `aiohttp.ClientSession`, HTTP/1.1 only."""

    def __init__(self, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        self._limits = limits
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _open_session(self) -> aiohttp.ClientSession:
        """On the first request: building an SSL context costs 50 ms, not worth paying at
        start-up (or at all, for a plain-HTTP upstream) and the same then as now."""
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 0,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self._session

    def _client_timeout(self, timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
        """httpx's connect/read/pool as aiohttp's sock_connect/sock_read/connect, cached:
        providers use a handful of distinct values."""
        key = tuple(timeout.get(name) for name in _TIMEOUT_KEYS)
        cached = self._timeouts.get(key)
        if cached is None:
            connect, read, pool = key
            cached = aiohttp.ClientTimeout(
                total=None, sock_connect=connect, sock_read=read, connect=pool
            )
            self._timeouts[key] = cached
        return cached

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open_session()
        try:
            content: bytes | None = request.content or None
        except httpx.RequestNotRead as exc:
            raise httpx.LocalProtocolError("streamed request bodies are not supported") from exc
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name != b"host"
        ]
        response = await session.request(
            request.method,
            str(request.url),
            headers=headers,
            data=content,
            allow_redirects=False,
            timeout=self._client_timeout(request.extensions.get("timeout", {})),
        )
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseBody(response),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _ResponseBody(httpx.AsyncByteStream):
    """The body as aiohttp hands it over: whatever has arrived, one piece per read."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while piece := await content.readany():
            yield piece

    async def aclose(self) -> None:
        self._response.release()
