"""What sits under the providers: the HTTP transport and the one mapping of its errors."""

from __future__ import annotations

import httpx


def build_transport(kind: str) -> httpx.AsyncBaseTransport:
    """The transport under a provider, chosen by measurement (bench/): aiohttp's connection
    pool carries about twice the requests of httpcore's on one core. Its pool has no limit of
    its own, so nothing ever waits in it: the limits are the provider's (`max_connections`,
    with a short wait) and the process's (`max_inflight`), both answered as the gateway's own
    overload."""
    limits = httpx.Limits(
        max_connections=None, max_keepalive_connections=None, keepalive_expiry=30.0
    )
    if kind == "aiohttp":
        from quart_llm.providers.transport.aiohttp_transport import AiohttpTransport

        return AiohttpTransport(limits)
    return httpx.AsyncHTTPTransport(limits=limits, http1=True, http2=False, trust_env=False)
