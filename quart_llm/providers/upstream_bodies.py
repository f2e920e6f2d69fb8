"""Upstream bodies: request bodies out, answers in as they arrive, bounded, parsed strictly."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any, cast

import httpx
import orjson

from quart_llm.errors import UpstreamError, UpstreamProtocolError
from quart_llm.providers.transport.errors import TRANSPORT_ERRORS
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.providers.wire.content_coding import (
    DECODABLE,
    PIECE_BYTES,
    CompressedBodyError,
    Inflater,
)

DRAIN_SECONDS = 0.25
"""How long the bytes that end a body are waited for after the answer's end marker."""
MAX_DECODED_BYTES = 64 * 1024 * 1024
"""The default bound of a compressed streamed answer once decoded (`options.max_decoded_bytes`),
so the most a gzip bomb costs: about twice what 100,000 tokens of OpenAI chunk JSON take
(some 300 bytes a token). Bodies sent as asked (`identity`) cost the upstream its bandwidth
and are not counted."""


def request_body(payload: Any) -> bytes:
    """An upstream request body. orjson writes into a buffer of 4 KiB at least and hands it
    over as it is; a stream keeps its request for its whole life, so the bytes are copied to
    their own size (measured: 4 KiB per open stream)."""
    return bytes(memoryview(orjson.dumps(payload)))


def iter_body(
    provider: str,
    response: httpx.Response,
    max_decoded_bytes: int,
    upstream_text: UpstreamText,
) -> AsyncGenerator[bytes]:
    """The body as it arrives: the one place an upstream body's encoding is handled.

    Requests ask for `identity`, and such a body is taken as the transport hands it over (no
    re-chunking, nothing counted). A body compressed anyway (a CDN in front of the upstream
    may do that) is decoded here, never by httpx: httpx inflates a whole network read at
    once, so a few KiB of gzip bomb became hundreds of MiB. Here one read inflates at most
    `content_coding.PIECE_BYTES`, and a decoded body longer than `max_decoded_bytes` is a
    502, so a bomb costs at most that bound. An encoding that cannot be decoded is refused
    (502, naming it) before anything is read."""
    encodings = _encodings(response)
    if not encodings:
        return _raw_pieces(response)
    if len(encodings) > 1 or encodings[0] not in DECODABLE:
        named = upstream_text.token(response.headers.get("content-encoding", ""))
        raise UpstreamProtocolError(
            provider, f"the upstream sent a body encoded as {named}, which cannot be decoded"
        )
    return _decoded(provider, _raw_pieces(response), Inflater(encodings[0]), max_decoded_bytes)


async def read_bounded(
    provider: str, response: httpx.Response, limit: int, upstream_text: UpstreamText
) -> bytes:
    """Read at most `limit` bytes of a response body (decoded, when it was compressed: the
    read stops at `limit` before the decoded bound, a piece above it, is reached)."""
    collected = bytearray()
    body = iter_body(provider, response, limit + PIECE_BYTES, upstream_text)
    async with aclosing(body) as pieces:
        async for piece in pieces:
            collected += piece
            if len(collected) >= limit:
                break
    return bytes(collected[:limit])


def _encodings(response: httpx.Response) -> list[str]:
    """The content codings applied to the body, `identity` left out."""
    header = response.headers.get("content-encoding", "")
    codings = (coding.strip().lower() for coding in header.split(","))
    return [coding for coding in codings if coding not in ("", "identity")]


def _raw_pieces(response: httpx.Response) -> AsyncGenerator[bytes]:
    """The body's bytes as the transport hands them over. Every httpx stream, ours included,
    iterates with an async generator."""
    if isinstance(response.stream, httpx.AsyncByteStream):
        return cast(AsyncGenerator[bytes], response.stream.__aiter__())
    return cast(AsyncGenerator[bytes], response.aiter_raw())


async def _decoded(
    provider: str, raw: AsyncGenerator[bytes], inflater: Inflater, limit: int
) -> AsyncGenerator[bytes]:
    """`raw` inflated piece by piece; more than `limit` decoded bytes is a protocol error."""
    decoded = 0
    async with aclosing(raw):
        try:
            async for compressed in raw:
                for piece in inflater.feed(compressed):
                    decoded += len(piece)
                    if decoded > limit:
                        raise UpstreamProtocolError(
                            provider, f"the decoded body exceeds {limit} bytes"
                        )
                    yield piece
            inflater.finish()
        except CompressedBodyError as exc:
            raise UpstreamProtocolError(provider, str(exc)) from exc


def parse_json_body(provider: str, body: bytes) -> Any:
    """Parse an upstream JSON body, tolerating the whitespace OpenRouter may send first."""
    try:
        return orjson.loads(body.strip())
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(provider, "the upstream sent malformed JSON") from exc


async def drain_after_end(pieces: AsyncIterator[bytes]) -> None:
    """Read what follows an answer's end marker for a moment: a body that ends in time keeps
    its connection for the next request instead of being dropped. The answer is whole by
    then, so a failure of what follows (a compressed body that ends badly) is no error."""
    with contextlib.suppress(TimeoutError, UpstreamError, *TRANSPORT_ERRORS):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in pieces:
                pass
