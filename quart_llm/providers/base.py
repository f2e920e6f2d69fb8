"""The provider interface, and the one place where httpx exceptions become ours.

A provider is built from its settings, `start()`ed when serving starts and `aclose()`d when it
stops. `stream_batches` is an async generator: leaving it early (client gone, deadline hit)
closes the upstream response in its `finally`, so no connection or task outlives the request.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import ClassVar

import httpx

from quart_llm.config import ProviderSettings
from quart_llm.errors import (
    InvalidRequest,
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.providers.types import Completion, StreamChunk
from quart_llm.schemas.chat_request import ChatRequest


class Provider(ABC):
    """An upstream that answers chats."""

    kind: ClassVar[str]
    unsupported_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self.name = name
        self.settings = settings

    async def start(self) -> None:
        """Open pooled resources; called once when serving starts."""

    async def aclose(self) -> None:
        """Release pooled resources; called once when serving stops."""

    def check_supported(self, request: ChatRequest) -> None:
        """Refuse (400) a request using a feature this upstream lacks, before any I/O."""
        used = sorted(request.fields_set() & self.unsupported_fields)
        if used:
            raise InvalidRequest(
                f"provider {self.name!r} ({self.kind}) does not support "
                + ", ".join(f"`{name}`" for name in used),
                param=used[0],
                code="unsupported_parameter",
            )

    @abstractmethod
    async def complete(self, request: ChatRequest, model: str) -> Completion:
        """The whole answer to a chat."""

    @abstractmethod
    def stream_batches(self, request: ChatRequest, model: str) -> AsyncGenerator[list[StreamChunk]]:
        """The answer as batches of chunks, never empty: those one upstream read completed.
        Raises an UpstreamError when the upstream fails (after yielding what came before).
        Time limits after connecting are the reader's: the gateway reads every stream through
        UpstreamStream, which times the first token, the gaps and the total."""

    async def stream_chat(self, request: ChatRequest, model: str) -> AsyncIterator[StreamChunk]:
        """The answer one chunk at a time."""
        async with aclosing(self.stream_batches(request, model)) as batches:
            async for batch in batches:
                for chunk in batch:
                    yield chunk

    @abstractmethod
    async def list_models(self) -> list[str]:
        """The upstream's model names (without the provider prefix)."""

    @abstractmethod
    async def probe(self) -> None:
        """Return when the upstream answers; raise an UpstreamError otherwise."""


@contextmanager
def map_upstream_errors(provider: str) -> Iterator[None]:
    """Turn httpx's exceptions into the gateway's, naming the provider and nothing secret."""
    try:
        yield
    except UpstreamError:
        raise
    except (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL, httpx.CookieConflict) as exc:
        raise upstream_error_for(provider, exc) from exc


_MAPPING: tuple[tuple[type[Exception], type[UpstreamError], str], ...] = (
    (httpx.ConnectError, UpstreamConnectError, "connection refused or unreachable"),
    (httpx.RemoteProtocolError, UpstreamProtocolError, "the upstream broke the HTTP protocol"),
    (httpx.ReadError, UpstreamProtocolError, "the connection was lost while reading"),
    (httpx.WriteError, UpstreamConnectError, "the connection was lost while sending"),
    (httpx.CloseError, UpstreamProtocolError, "the connection failed while closing"),
    (httpx.ProxyError, UpstreamConnectError, "the proxy refused the connection"),
    (httpx.UnsupportedProtocol, UpstreamConnectError, "unsupported URL scheme"),
    (httpx.DecodingError, UpstreamProtocolError, "the response could not be decoded"),
    (httpx.TooManyRedirects, UpstreamProtocolError, "too many redirects"),
    (httpx.LocalProtocolError, UpstreamProtocolError, "the request could not be sent"),
    (httpx.TransportError, UpstreamConnectError, "transport failure"),
    (httpx.HTTPError, UpstreamProtocolError, "HTTP failure"),
    (httpx.StreamError, UpstreamProtocolError, "the response stream was misused"),
    (httpx.InvalidURL, UpstreamConnectError, "invalid upstream URL"),
    (httpx.CookieConflict, UpstreamProtocolError, "conflicting upstream cookies"),
)


def upstream_error_for(provider: str, exc: Exception) -> UpstreamError:
    """The most specific gateway error for an httpx exception (first match in `_MAPPING`)."""
    from_aiohttp = _from_aiohttp_cause(provider, exc)
    if from_aiohttp is not None:
        return from_aiohttp
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(
            provider,
            _TIMEOUT_MESSAGES.get(type(exc), "timed out"),
            retryable=isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout),
        )
    for exception_class, error_class, message in _MAPPING:
        if isinstance(exc, exception_class):
            return error_class(provider, message)
    return UpstreamProtocolError(provider, "HTTP failure")


def _from_aiohttp_cause(provider: str, exc: Exception) -> UpstreamError | None:
    """The aiohttp transport raises the nearest httpx class with aiohttp's exception as the
    cause, which says more exactly what happened: a server that hung up is not a protocol
    breach, and a refused connection is not a lost one (ClientConnectorError is an OSError)."""
    cause = exc.__cause__
    if cause is None or type(cause).__module__.split(".")[0] != "aiohttp":
        return None
    import aiohttp

    if isinstance(cause, aiohttp.ClientConnectorError):
        return UpstreamConnectError(provider, "connection refused or unreachable")
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        return UpstreamTimeout(provider, "timed out while connecting", retryable=True)
    if isinstance(cause, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return UpstreamProtocolError(provider, "the upstream closed the connection unexpectedly")
    return None


_TIMEOUT_MESSAGES: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "timed out while connecting",
    httpx.ReadTimeout: "timed out waiting for data",
    httpx.WriteTimeout: "timed out while sending",
    httpx.PoolTimeout: "no free upstream connection in time",
}
