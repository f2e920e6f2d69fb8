"""What sits under the providers: the HTTP transport and the one mapping of its errors."""

from __future__ import annotations

import httpx


def build_transport(kind: str, max_connections: int) -> httpx.AsyncBaseTransport:
    """The transport under a provider, chosen by measurement (bench/): aiohttp's connection
    pool carries about twice the requests of httpcore's on one core."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
    )
    if kind == "aiohttp":
        from quart_llm.providers.transport.aiohttp_transport import AiohttpTransport

        return AiohttpTransport(limits)
    return httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False, trust_env=False)
