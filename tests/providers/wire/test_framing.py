import itertools
import random
import re

import orjson
import pytest

from quart_llm.providers.wire.framing import (
    DEFAULT_MAX_LINE_BYTES,
    LineTooLongError,
    NDJSONLineFramer,
    SSELineFramer,
)

SSE_SAMPLE = (
    b"data: first\r\n"
    b"\r\n"
    b": keepalive\r"
    b"data: caf\xc3\xa9 \xf0\x9f\x98\x80\n"
    b"data: second\r"
    b"\r"
    b"event: x\n"
    b"\n"
    b"data: tail"
)
NDJSON_SAMPLE = (
    '{"content":"line\u2028sep\u0085nel\u2029para"}\r\n'
    "\n"
    '{"content":"\u00e9\U0001f600"}\n'
    "\r\n"
    '{"done":true}'
).encode()


def reference_sse(stream: bytes) -> tuple[list[bytes], bytes | None]:
    *lines, tail = re.split(rb"\r\n|\r|\n", stream)
    return lines, tail or None


def reference_ndjson(stream: bytes) -> tuple[list[bytes], bytes | None]:
    *lines, tail = stream.split(b"\n")
    complete = [line.removesuffix(b"\r") for line in lines]
    return [line for line in complete if line], tail.removesuffix(b"\r") or None


def run(
    framer: SSELineFramer | NDJSONLineFramer, chunks: list[bytes]
) -> tuple[list[bytes], bytes | None]:
    lines = [line for chunk in chunks for line in framer.feed(chunk)]
    return lines, framer.flush()


def split_at(data: bytes, *cuts: int) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def random_chunks(rng: random.Random, data: bytes) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(data):
        size = rng.choice((0, 1, 1, 2, 3, 5, 8, 64))
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def test_sse_splits_on_crlf_lf_and_lone_cr() -> None:
    assert run(SSELineFramer(), [b"a\r\nb\nc\rd\r\n\r\n\n\r"]) == (
        [b"a", b"b", b"c", b"d", b"", b"", b""],
        None,
    )


def test_sse_cr_ending_a_chunk_and_lf_starting_the_next_are_one_terminator() -> None:
    framer = SSELineFramer()
    assert framer.feed(b"data: a\r") == [b"data: a"]
    assert framer.feed(b"\ndata: b\r") == [b"data: b"]
    assert framer.feed(b"\n") == []
    assert framer.feed(b"\n") == [b""]
    assert framer.flush() is None


def test_sse_lone_cr_is_emitted_without_waiting_for_the_next_chunk() -> None:
    framer = SSELineFramer()
    assert framer.feed(b"x\r") == [b"x"]
    assert framer.feed(b"\r") == [b""]
    assert framer.feed(b"y") == []
    assert framer.flush() == b"y"


def test_sse_empty_chunk_keeps_pending_cr() -> None:
    framer = SSELineFramer()
    assert framer.feed(b"a\r") == [b"a"]
    assert framer.feed(b"") == []
    assert framer.feed(b"\nb\n") == [b"b"]


def test_sse_flush_returns_unterminated_line_once() -> None:
    framer = SSELineFramer()
    assert framer.feed(b"a\nbc") == [b"a"]
    assert framer.flush() == b"bc"
    assert framer.flush() is None


@pytest.mark.parametrize("cut", range(len(SSE_SAMPLE) + 1))
def test_sse_every_single_split_matches_reference(cut: int) -> None:
    assert run(SSELineFramer(), split_at(SSE_SAMPLE, cut)) == reference_sse(SSE_SAMPLE)


def test_sse_every_pair_of_splits_matches_reference() -> None:
    expected = reference_sse(SSE_SAMPLE)
    for first in range(len(SSE_SAMPLE) + 1):
        for second in range(first, len(SSE_SAMPLE) + 1):
            assert run(SSELineFramer(), split_at(SSE_SAMPLE, first, second)) == expected


def test_sse_one_byte_at_a_time_keeps_multibyte_utf8_whole() -> None:
    chunks = [SSE_SAMPLE[i : i + 1] for i in range(len(SSE_SAMPLE))]
    lines, _ = run(SSELineFramer(), chunks)
    assert "data: café 😀" in [line.decode() for line in lines]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085"])
def test_unicode_separators_inside_json_strings_are_data(char: str) -> None:
    line = orjson.dumps({"content": f"a{char}b"}) + b"\n"
    assert char.encode() in line
    for framer in (SSELineFramer(), NDJSONLineFramer()):
        lines, tail = run(framer, [line])
        assert tail is None
        assert len(lines) == 1
        assert orjson.loads(lines[0]) == {"content": f"a{char}b"}


def test_other_control_bytes_are_data() -> None:
    line = b"a\x0bb\x0cc\x1cd\x1de\x1ef\x85g"
    for framer in (SSELineFramer(), NDJSONLineFramer()):
        assert run(framer, [line + b"\n"]) == ([line], None)


def test_ndjson_splits_on_lf_only_and_strips_one_cr() -> None:
    framer = NDJSONLineFramer()
    assert framer.feed(b"a\rb\r\n\r\n\nc\r\r\n") == [b"a\rb", b"c\r"]
    assert framer.feed(b"d\r") == []
    assert framer.feed(b"\n") == [b"d"]
    assert framer.flush() is None


def test_ndjson_flush_strips_cr_and_skips_blank_tail() -> None:
    framer = NDJSONLineFramer()
    assert framer.feed(b'{"a":1}\n{"b":2}\r') == [b'{"a":1}']
    assert framer.flush() == b'{"b":2}'
    framer.feed(b"\n\r")
    assert framer.flush() is None


@pytest.mark.parametrize("cut", range(len(NDJSON_SAMPLE) + 1))
def test_ndjson_every_split_matches_reference(cut: int) -> None:
    lines, tail = run(NDJSONLineFramer(), split_at(NDJSON_SAMPLE, cut))
    assert (lines, tail) == reference_ndjson(NDJSON_SAMPLE)
    assert [orjson.loads(line) for line in [*lines, tail or b""]] == [
        {"content": "line\u2028sep\u0085nel\u2029para"},
        {"content": "\u00e9\U0001f600"},
        {"done": True},
    ]


def test_random_chunkings_match_reference_splitters() -> None:
    rng = random.Random(20240611)
    alphabet = [b"a", b"b", b":", b" ", b"\r", b"\n", b"\r\n", "é".encode(), "\u2028".encode()]
    for _ in range(400):
        stream = b"".join(rng.choices(alphabet, k=rng.randrange(0, 60)))
        for _ in range(5):
            chunks = random_chunks(rng, stream)
            assert run(SSELineFramer(), chunks) == reference_sse(stream), chunks
            assert run(NDJSONLineFramer(), chunks) == reference_ndjson(stream), chunks


def test_default_limit_is_16_mib() -> None:
    assert DEFAULT_MAX_LINE_BYTES == 16 * 1024 * 1024


@pytest.mark.parametrize("framer_type", [SSELineFramer, NDJSONLineFramer])
def test_line_at_limit_is_accepted(framer_type: type[SSELineFramer | NDJSONLineFramer]) -> None:
    framer = framer_type(max_line_bytes=8)
    assert framer.feed(b"12345678\n") == [b"12345678"]
    assert framer.feed(b"1234") == []
    assert framer.feed(b"5678\n") == [b"12345678"]
    assert framer.feed(b"12345678") == []
    assert framer.flush() == b"12345678"


@pytest.mark.parametrize("framer_type", [SSELineFramer, NDJSONLineFramer])
def test_huge_terminated_line_raises(framer_type: type[SSELineFramer | NDJSONLineFramer]) -> None:
    framer = framer_type(max_line_bytes=1024)
    with pytest.raises(LineTooLongError, match="1024 bytes"):
        framer.feed(b"ok\n" + b"x" * 1025 + b"\nok\n")


@pytest.mark.parametrize("framer_type", [SSELineFramer, NDJSONLineFramer])
def test_line_completed_across_chunks_past_limit_raises(
    framer_type: type[SSELineFramer | NDJSONLineFramer],
) -> None:
    framer = framer_type(max_line_bytes=8)
    assert framer.feed(b"12345") == []
    with pytest.raises(LineTooLongError):
        framer.feed(b"6789\n")


@pytest.mark.parametrize("framer_type", [SSELineFramer, NDJSONLineFramer])
def test_huge_unterminated_buffer_raises(
    framer_type: type[SSELineFramer | NDJSONLineFramer],
) -> None:
    framer = framer_type(max_line_bytes=4096)
    for _ in range(4):
        assert framer.feed(b"x" * 1024) == []
    with pytest.raises(LineTooLongError) as excinfo:
        framer.feed(b"x")
    assert excinfo.value.max_line_bytes == 4096
    assert isinstance(excinfo.value, ValueError)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SSELineFramer(max_line_bytes=0)


@pytest.mark.parametrize("framer_type", [SSELineFramer, NDJSONLineFramer])
def test_four_mib_line_in_one_kib_pieces_grows_one_buffer(
    framer_type: type[SSELineFramer | NDJSONLineFramer],
) -> None:
    piece = b"y" * 1024
    framer = framer_type()
    buffer = framer._buf
    assert isinstance(buffer, bytearray)
    for _ in range(4096):
        assert framer.feed(piece) == []
        assert framer._buf is buffer
    assert len(buffer) == 4 * 1024 * 1024
    lines = framer.feed(b"\n")
    assert len(lines) == 1
    assert lines[0] == piece * 4096
    assert framer._buf is buffer
    assert not buffer


def test_ndjson_yields_final_unterminated_line_on_flush() -> None:
    stream = '{"a":"x\u2028y\u0085z"}\r\n\n{"done":true}'.encode()
    for cut in range(len(stream) + 1):
        framer = NDJSONLineFramer()
        lines = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        tail = framer.flush()
        lines += [tail] if tail is not None else []
        assert lines == ['{"a":"x\u2028y\u0085z"}'.encode(), b'{"done":true}']


def test_ndjson_raises_on_overlong_buffer() -> None:
    framer = NDJSONLineFramer(64)
    assert framer.feed(b"ok\n") == [b"ok"]
    assert framer.feed(b"x" * 40) == []
    with pytest.raises(LineTooLongError):
        framer.feed(b"x" * 40)
