"""The SSE decoder gives the data of each event, by the WHATWG rules with the deliberate
differences its module states; fed in any chunking, it gives the same."""

import itertools
import random
from collections.abc import Iterable

import pytest

from quart_llm.providers.wire.framing import LineTooLongError, SSELineFramer
from quart_llm.providers.wire.sse_decoder import SSEDecoder, SSEParser

STREAM = (
    b"\xef\xbb\xbf: hello\r\n"
    b"\r\n"
    b'data: {"delta":"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80"}\r\n'
    b"\r\n"
    b"event: update\r"
    b"data: line one\r"
    b"data:  line two\r"
    b"\r"
    b": keepalive\n"
    b"\n"
    b"id: 7\n"
    b"retry: 250\n"
    b"data: [DONE]\n"
    b"\n"
    b"data: never dispatched"
)
EXPECTED = ['{"delta":"café \u2028 😀"}', "line one\n line two", "[DONE]"]


def decode_lines(*lines: bytes, decoder: SSEDecoder | None = None) -> list[str]:
    """The data of each event, one line at a time (no one-step path)."""
    decoder = decoder if decoder is not None else SSEDecoder()
    return [data for line in lines if (data := decoder.decode(line)) is not None]


def parse(chunks: Iterable[bytes]) -> list[str]:
    parser = SSEParser()
    return [data for chunk in chunks for data in parser.feed(chunk)]


def test_single_data_line_dispatches_on_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(b"data: hi") is None
    assert decoder.decode(b"") == "hi"
    assert decoder.decode(b"") is None


def test_multi_line_data_is_joined_with_newline() -> None:
    assert decode_lines(b"data: first line", b"data:", b"data: second line", b"") == [
        "first line\n\nsecond line"
    ]


def test_only_one_leading_space_is_stripped_and_name_ends_at_first_colon() -> None:
    assert decode_lines(b"data:x", b"data:  y", b"data: a: b", b"data", b"") == ["x\n y\na: b\n"]


def test_comments_never_dispatch() -> None:
    decoder = SSEDecoder()
    assert decode_lines(b": keepalive", b"", b":", b"", decoder=decoder) == []
    assert decode_lines(b"data: x", b": mid-event", b"", decoder=decoder) == ["x"]


def test_event_without_data_is_dispatched_with_empty_data() -> None:
    assert decode_lines(b"event: ping", b"") == [""]
    assert decode_lines(b"data:", b"") == [""]


def test_unknown_fields_are_ignored() -> None:
    assert decode_lines(b"foo: bar", b"Data: x", b"data : y", b"") == []
    assert decode_lines(b"foo: bar", b"data: z", b"") == ["z"]


def test_id_with_nul_is_no_field() -> None:
    assert decode_lines(b"id: a\x00b", b"") == []
    assert decode_lines(b"id: 1", b"data: x", b"", b"id: 2\x00", b"data: y", b"") == ["x", "y"]


def test_an_id_dispatches_once_and_a_later_blank_line_never_does() -> None:
    events = decode_lines(b"id: 5", b"data: a", b"", b": keepalive", b"", b"", b"data: b", b"")
    assert events == ["a", "b"]
    assert decode_lines(b"id: 9", b"") == [""]


@pytest.mark.parametrize("value", [b"", b"1.5", b"-1", b"10x", b"  10", b"\xd9\xa3", b"abc"])
def test_non_numeric_retry_is_no_field(value: bytes) -> None:
    assert decode_lines(b"retry:" + value, b"") == []
    assert decode_lines(b"retry:" + value, b"data: x", b"") == ["x"]


def test_numeric_retry_is_a_field_of_its_event_only() -> None:
    assert decode_lines(b"retry: 3000", b"") == [""]
    assert decode_lines(b"retry: 3000", b"data: x", b"", b"data: y", b"") == ["x", "y"]


def test_leading_bom_is_dropped_only_at_stream_start() -> None:
    assert decode_lines(b"\xef\xbb\xbfdata: x", b"") == ["x"]
    assert decode_lines(b"\xef\xbb\xbf", b"data: x", b"") == ["x"]
    assert decode_lines(b"", b"\xef\xbb\xbfdata: x", b"") == []
    assert decode_lines(b"data: \xef\xbb\xbfx", b"") == ["\ufeffx"]


def test_invalid_utf8_is_replaced() -> None:
    assert decode_lines(b"data: a\xffb\xc3", b"") == ["a\ufffdb\ufffd"]


def test_whole_stream_in_one_chunk() -> None:
    assert parse([STREAM]) == EXPECTED


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_every_split_position(cut: int) -> None:
    assert parse([STREAM[:cut], STREAM[cut:]]) == EXPECTED


def test_one_byte_at_a_time() -> None:
    assert parse(STREAM[i : i + 1] for i in range(len(STREAM))) == EXPECTED


def test_random_chunkings_match_one_shot_parse() -> None:
    rng = random.Random(7)
    for _ in range(300):
        cuts = sorted(rng.sample(range(len(STREAM) + 1), rng.randrange(1, 12)))
        bounds = [0, *cuts, len(STREAM)]
        chunks = [STREAM[a:b] for a, b in itertools.pairwise(bounds)]
        assert parse(chunks) == EXPECTED, chunks


def test_parser_drops_event_not_closed_at_eof() -> None:
    assert parse(STREAM[i : i + 5] for i in range(0, len(STREAM), 5)) == EXPECTED
    assert SSEParser().feed(b"data: x\n") == []


def test_parser_raises_on_overlong_line() -> None:
    parser = SSEParser(max_line_bytes=64)
    assert parser.feed(b"data: ok\n\n") == ["ok"]
    with pytest.raises(LineTooLongError, match="64 bytes"):
        parser.feed(b"data: " + b"x" * 100)


LINES = (
    b"data: x",
    b"data:y",
    b"data:  two spaces",
    b"data",
    b"data: caf\xc3\xa9 \xff",
    b"",
    b"",
    b": comment",
    b"event: update",
    b"id: 9",
    b"id: a\0b",
    b"retry: 30",
    b"retry: soon",
    b"other: field",
    b"\xef\xbb\xbfdata: bom",
)


def test_the_one_step_path_matches_line_by_line_decoding_on_random_streams() -> None:
    """The one-step path for `data:` + blank line must agree with the line-by-line decoder
    whatever comes before, between and after, however the stream is cut."""
    rng = random.Random(11)
    for _ in range(500):
        terminator = rng.choice((b"\n", b"\r\n", b"\r"))
        stream = b"".join(rng.choice(LINES) + terminator for _ in range(rng.randrange(1, 24)))
        cuts = sorted(rng.sample(range(len(stream) + 1), rng.randrange(min(6, len(stream) + 1))))
        bounds = [0, *cuts, len(stream)]
        chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
        framer, line_by_line = SSELineFramer(), SSEDecoder()
        expected = decode_lines(
            *(line for chunk in chunks for line in framer.feed(chunk)), decoder=line_by_line
        )
        assert parse(chunks) == expected, stream


def test_the_one_step_path_strips_a_bom_only_at_the_stream_start() -> None:
    assert SSEParser().feed(b"\xef\xbb\xbfdata: a\n\n") == ["a"]
    # The first event took the one-step path; a BOM after it is part of a field name.
    assert SSEParser().feed(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == ["a"]
