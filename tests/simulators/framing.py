"""Byte encoders: Go-style JSON and timestamps, NDJSON lines, SSE events, odd chunk boundaries."""

import datetime as dt
import itertools
import random
from typing import Any

import orjson

_GO_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)
MAX_PIECE = 7


def compact_json(value: Any) -> bytes:
    return orjson.dumps(value)


def go_json(value: Any) -> bytes:
    raw = orjson.dumps(value)
    for char, escaped in _GO_ESCAPES:
        raw = raw.replace(char, escaped)
    return raw


def go_timestamp(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    base = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f".{fraction:09d}".rstrip("0") if fraction else ""
    return f"{base}{digits}Z"


def ndjson_line(value: Any, eol: bytes = b"\n") -> bytes:
    return go_json(value) + eol


def sse_data(payload: bytes, eol: bytes = b"\n") -> bytes:
    return b"data: " + payload + eol + eol


def sse_comment(text: bytes, eol: bytes = b"\n") -> bytes:
    return b": " + text + eol + eol


def truncated(frame: bytes) -> bytes:
    body = frame.rstrip(b"\r\n")
    return body[: len(body) // 2] + frame[len(body) :]


def forced_cuts(data: bytes) -> set[int]:
    cuts = {index + 1 for index in range(len(data) - 1) if data[index : index + 2] == b"\r\n"}
    cuts |= {index + 1 for index, byte in enumerate(data) if byte >= 0xC0}
    return {cut for cut in cuts if 0 < cut < len(data)}


def odd_pieces(data: bytes, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    cuts = forced_cuts(data)
    position = 0
    while position < len(data):
        position += rng.randint(1, MAX_PIECE)
        cuts.add(min(position, len(data)))
    bounds = [0, *sorted(cut for cut in cuts if cut > 0)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def text_pieces(text: str, size: int) -> list[str]:
    return [text[start : start + size] for start in range(0, len(text), size)]
