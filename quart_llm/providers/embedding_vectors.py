"""The vectors an upstream answers an embeddings request with, checked once for every kind.

An answer must hold one vector per input, each a non-empty array of numbers, all of one
length; anything else is the upstream's protocol error (502), never a short or misordered
list handed to the client.
"""

from __future__ import annotations

from typing import Any

from quart_llm.errors import UpstreamProtocolError


def checked_vectors(provider: str, raw: Any, count: int) -> list[list[float]]:
    """`raw` as `count` vectors of one length (floats), else an UpstreamProtocolError."""
    if not isinstance(raw, list) or len(raw) != count:
        got = len(raw) if isinstance(raw, list) else "no"
        raise UpstreamProtocolError(
            provider, f"the embeddings answer has {got} vectors for {count} inputs"
        )
    vectors = [_vector(provider, vector) for vector in raw]
    if len({len(vector) for vector in vectors}) > 1:
        raise UpstreamProtocolError(provider, "the embeddings answer mixes vector lengths")
    return vectors


def _vector(provider: str, raw: Any) -> list[float]:
    if isinstance(raw, list) and raw and all(_is_number(value) for value in raw):
        return [float(value) for value in raw]
    raise UpstreamProtocolError(provider, "an embedding is not an array of numbers")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
