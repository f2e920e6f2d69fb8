"""Upstream bodies: request bodies out, answers in as they arrive, bounded, parsed strictly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import httpx
import orjson

from quart_llm.errors import UpstreamProtocolError
from quart_llm.providers.transport.errors import TRANSPORT_ERRORS

DRAIN_SECONDS = 0.25
"""How long the bytes that end a body are waited for after the answer's end marker."""


def request_body(payload: Any) -> bytes:
    """An upstream request body. orjson writes into a buffer of 4 KiB at least and hands it
    over as it is; a stream keeps its request for its whole life, so the bytes are copied to
    their own size (measured: 4 KiB per open stream)."""
    return bytes(memoryview(orjson.dumps(payload)))


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


def parse_json_body(provider: str, body: bytes) -> Any:
    """Parse an upstream JSON body, tolerating the whitespace OpenRouter may send first."""
    try:
        return orjson.loads(body.strip())
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(provider, "the upstream sent malformed JSON") from exc


async def drain_after_end(pieces: AsyncIterator[bytes]) -> None:
    """Read what follows an answer's end marker for a moment: a body that ends in time keeps
    its connection for the next request instead of being dropped."""
    with contextlib.suppress(TimeoutError, *TRANSPORT_ERRORS):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in pieces:
                pass
