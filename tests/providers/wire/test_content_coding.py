import gzip
import itertools
import zlib

import pytest

from quart_llm.providers.wire.content_coding import (
    PIECE_BYTES,
    CompressedBodyError,
    Inflater,
)
from tests.simulators.hostile import GIB, gzip_bomb

TEXT = b'data: {"choices": []}\n\n' * 20_000


def deflated(data: bytes, wbits: int) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return compressor.compress(data) + compressor.flush()


def inflate_all(inflater: Inflater, body: bytes, cut: int = 1000) -> bytes:
    out = bytearray()
    for start in range(0, len(body), cut):
        for piece in inflater.feed(body[start : start + cut]):
            assert 0 < len(piece) <= PIECE_BYTES
            out += piece
    inflater.finish()
    return bytes(out)


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("gzip", gzip.compress(TEXT[:1000]) + gzip.compress(TEXT[1000:])),
        ("deflate", deflated(TEXT, zlib.MAX_WBITS)),
        ("deflate", deflated(TEXT, -zlib.MAX_WBITS)),
    ],
    ids=["gzip", "x-gzip", "two-gzip-members", "zlib-deflate", "raw-deflate"],
)
def test_bodies_inflate_whole_in_bounded_pieces(encoding: str, body: bytes) -> None:
    assert len(TEXT) > 4 * PIECE_BYTES
    assert inflate_all(Inflater(encoding), body) == TEXT


def test_one_read_of_a_bomb_inflates_one_piece_at_a_time() -> None:
    bomb = gzip_bomb(GIB)
    assert len(bomb) < 2 * 1024 * 1024
    pieces = Inflater("gzip").feed(bomb)
    first = list(itertools.islice(pieces, 64))
    assert [len(piece) for piece in first] == [PIECE_BYTES] * 64
    assert first[0] == bytes(PIECE_BYTES)


def test_a_body_that_ends_early_or_is_corrupt_is_refused() -> None:
    body = gzip.compress(TEXT)
    truncated = Inflater("gzip")
    list(truncated.feed(body[: len(body) // 2]))
    with pytest.raises(CompressedBodyError, match="ended early"):
        truncated.finish()
    with pytest.raises(CompressedBodyError, match="corrupt"):
        list(Inflater("gzip").feed(b"\x1f\x8b" + bytes(30)))
    with pytest.raises(CompressedBodyError, match="after the end"):
        list(Inflater("deflate").feed(deflated(TEXT, zlib.MAX_WBITS) + b"junk"))
    with pytest.raises(ValueError, match="cannot decode"):
        Inflater("br")


def test_an_empty_body_is_no_error() -> None:
    inflater = Inflater("gzip")
    assert list(inflater.feed(b"")) == []
    inflater.finish()
