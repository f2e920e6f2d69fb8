"""The provider interface, and the one place where httpx exceptions become ours.

A provider is built from its settings, `start()`ed when serving starts and `aclose()`d when it
stops. `stream_chat` is an async generator: leaving it early (client gone, deadline hit) closes
the upstream response in its `finally`, so no connection or task outlives the request.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
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
    def stream_chat(self, request: ChatRequest, model: str) -> AsyncIterator[StreamChunk]:
        """The answer as chunks; raises an UpstreamError when the upstream fails."""

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
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(
            provider,
            _TIMEOUT_MESSAGES.get(type(exc), "timed out"),
            retryable=isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout),
        ) from exc
    except httpx.ConnectError as exc:
        raise UpstreamConnectError(provider, "connection refused or unreachable") from exc
    except httpx.RemoteProtocolError as exc:
        raise UpstreamProtocolError(provider, "the upstream broke the HTTP protocol") from exc
    except httpx.ReadError as exc:
        raise UpstreamProtocolError(provider, "the connection was lost while reading") from exc
    except httpx.WriteError as exc:
        raise UpstreamConnectError(provider, "the connection was lost while sending") from exc
    except httpx.CloseError as exc:
        raise UpstreamProtocolError(provider, "the connection failed while closing") from exc
    except httpx.ProxyError as exc:
        raise UpstreamConnectError(provider, "the proxy refused the connection") from exc
    except httpx.UnsupportedProtocol as exc:
        raise UpstreamConnectError(provider, "unsupported URL scheme") from exc
    except httpx.DecodingError as exc:
        raise UpstreamProtocolError(provider, "the response could not be decoded") from exc
    except httpx.TooManyRedirects as exc:
        raise UpstreamProtocolError(provider, "too many redirects") from exc
    except httpx.LocalProtocolError as exc:
        raise UpstreamProtocolError(provider, "the request could not be sent") from exc
    except httpx.TransportError as exc:
        raise UpstreamConnectError(provider, "transport failure") from exc
    except httpx.HTTPError as exc:
        raise UpstreamProtocolError(provider, "HTTP failure") from exc
    except httpx.StreamError as exc:
        raise UpstreamProtocolError(provider, "the response stream was misused") from exc
    except httpx.InvalidURL as exc:
        raise UpstreamConnectError(provider, "invalid upstream URL") from exc
    except httpx.CookieConflict as exc:
        raise UpstreamProtocolError(provider, "conflicting upstream cookies") from exc


_TIMEOUT_MESSAGES: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "timed out while connecting",
    httpx.ReadTimeout: "timed out waiting for data",
    httpx.WriteTimeout: "timed out while sending",
    httpx.PoolTimeout: "no free upstream connection in time",
}
