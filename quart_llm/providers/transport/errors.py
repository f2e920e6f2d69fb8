"""The one place where the HTTP libraries' exceptions become the gateway's.

Both transports raise their library's own exceptions as they are: aiohttp's (the default
transport) and httpx's (`transport = "httpx"`, and the request building both share).
`upstream_errors()` wraps every exchange with an upstream and turns each of them into the most
specific `UpstreamError`, naming the provider and repeating nothing of the library's text
(which may carry URLs). A test walks both libraries' exception classes to keep this exhaustive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)

TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    aiohttp.ClientError,
    httpx.HTTPError,
    httpx.StreamError,
    httpx.InvalidURL,
    httpx.CookieConflict,
)
"""Everything a transport may raise for a failed exchange."""

_ErrorFactory = Callable[[str], UpstreamError]


def _timeout(message: str, *, connecting: bool = False) -> _ErrorFactory:
    """A timeout; one while connecting is retried, and says the provider is unreachable."""
    return lambda provider: UpstreamTimeout(
        provider, message, retryable=connecting, unreachable=connecting
    )


def _connect(message: str) -> _ErrorFactory:
    return lambda provider: UpstreamConnectError(provider, message)


def _protocol(message: str) -> _ErrorFactory:
    return lambda provider: UpstreamProtocolError(provider, message)


_CLOSED = "the upstream closed the connection unexpectedly"
_MAPPING: tuple[tuple[type[Exception], _ErrorFactory], ...] = (
    # aiohttp, most specific first (ClientConnectorError is a ClientOSError, and
    # ConnectionTimeoutError a ServerTimeoutError).
    (aiohttp.ConnectionTimeoutError, _timeout("timed out while connecting", connecting=True)),
    (aiohttp.ServerTimeoutError, _timeout("timed out waiting for data")),
    (aiohttp.ClientConnectorError, _connect("connection refused or unreachable")),
    (aiohttp.ServerDisconnectedError, _protocol(_CLOSED)),
    (aiohttp.ClientOSError, _protocol(_CLOSED)),
    (aiohttp.ClientPayloadError, _protocol("the connection was lost while reading")),
    (aiohttp.InvalidURL, _connect("unsupported URL scheme")),
    (aiohttp.NonHttpUrlClientError, _connect("unsupported URL scheme")),
    (aiohttp.ClientResponseError, _protocol("the upstream broke the HTTP protocol")),
    (aiohttp.ClientError, _connect("transport failure")),
    # httpx
    (httpx.ConnectTimeout, _timeout("timed out while connecting", connecting=True)),
    (httpx.PoolTimeout, _timeout("no free upstream connection in time", connecting=True)),
    (httpx.ReadTimeout, _timeout("timed out waiting for data")),
    (httpx.WriteTimeout, _timeout("timed out while sending")),
    (httpx.TimeoutException, _timeout("timed out")),
    (httpx.ConnectError, _connect("connection refused or unreachable")),
    (httpx.RemoteProtocolError, _protocol("the upstream broke the HTTP protocol")),
    (httpx.ReadError, _protocol("the connection was lost while reading")),
    (httpx.WriteError, _connect("the connection was lost while sending")),
    (httpx.CloseError, _protocol("the connection failed while closing")),
    (httpx.ProxyError, _connect("the proxy refused the connection")),
    (httpx.UnsupportedProtocol, _connect("unsupported URL scheme")),
    (httpx.DecodingError, _protocol("the response could not be decoded")),
    (httpx.TooManyRedirects, _protocol("too many redirects")),
    (httpx.LocalProtocolError, _protocol("the request could not be sent")),
    (httpx.TransportError, _connect("transport failure")),
    (httpx.HTTPError, _protocol("HTTP failure")),
    (httpx.StreamError, _protocol("the response stream was misused")),
    (httpx.InvalidURL, _connect("invalid upstream URL")),
    (httpx.CookieConflict, _protocol("conflicting upstream cookies")),
)


def _error_for(provider: str, exc: Exception) -> UpstreamError:
    """The most specific gateway error for a transport exception (first match wins)."""
    for exception_class, make in _MAPPING:
        if isinstance(exc, exception_class):
            return make(provider)
    return UpstreamProtocolError(provider, "HTTP failure")


@contextmanager
def upstream_errors(provider: str) -> Iterator[None]:
    """Turn transport exceptions raised inside the block into `UpstreamError`s; the gateway's
    own errors and anything else pass through untouched."""
    try:
        yield
    except UpstreamError:
        raise
    except TRANSPORT_ERRORS as exc:
        raise _error_for(provider, exc) from exc
