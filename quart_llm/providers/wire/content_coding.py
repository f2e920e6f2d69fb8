"""Bounded decoding of a compressed upstream body (`Content-Encoding: gzip` or `deflate`).

Requests ask for `identity`, yet a CDN or proxy in front of an upstream may compress anyway;
refusing such bodies would make the upstream unusable behind it, so they are decoded, but
never the way a general HTTP client does it: one network read of a gzip bomb (a few KiB that
inflate to a GiB) must not become one huge buffer. `Inflater.feed` inflates at most
`PIECE_BYTES` at a time, so what one read costs in memory is bounded whatever the ratio; the
caller bounds the whole answer (`upstream_bodies`). Encodings zlib cannot decode (`br`,
`zstd`, `compress`) and stacked encodings are refused by name before any byte is read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

PIECE_BYTES = 64 * 1024
"""The most one step of decoding inflates to."""

_GZIP_WBITS = 16 + zlib.MAX_WBITS
_ZLIB_WBITS = zlib.MAX_WBITS
_RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})


class CompressedBodyError(ValueError):
    """A compressed body that is corrupt, or that ended before its compressed stream did."""


class Inflater:
    """Incremental, bounded decoding of one gzip or deflate body.

    gzip bodies may hold several members, one after another (RFC 1952); `deflate` is zlib's
    format as the RFC says, or raw deflate as some servers send it (tried when the first
    bytes are not zlib's, as httpx does).
    """

    def __init__(self, encoding: str) -> None:
        if encoding not in DECODABLE:
            raise ValueError(f"cannot decode {encoding!r}")
        self._gzip = encoding != "deflate"
        self._wbits = _GZIP_WBITS if self._gzip else _ZLIB_WBITS
        self._decoder = zlib.decompressobj(self._wbits)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of `data`, each at most `PIECE_BYTES`; iterate them all."""
        while True:
            piece = self._inflate(data)
            data = self._decoder.unconsumed_tail
            if piece:
                yield piece
            if self._decoder.eof:
                data = self._decoder.unused_data
                if not data:
                    return
                if not self._gzip:
                    raise CompressedBodyError("data after the end of the compressed body")
                self._decoder = zlib.decompressobj(self._wbits)
            elif not data and len(piece) < PIECE_BYTES:
                return

    def finish(self) -> None:
        """At the end of the body: raise unless the compressed stream ended too."""
        if not self._decoder.eof and not self._first:
            raise CompressedBodyError("the compressed body ended early")

    def _inflate(self, data: bytes) -> bytes:
        try:
            piece = self._decoder.decompress(data, PIECE_BYTES)
        except zlib.error as exc:
            if not (self._first and not self._gzip):
                raise CompressedBodyError("the compressed body is corrupt") from exc
            self._wbits = _RAW_DEFLATE_WBITS
            self._decoder = zlib.decompressobj(self._wbits)
            self._first = False
            return self._inflate(data)
        if data:
            self._first = False
        return piece
