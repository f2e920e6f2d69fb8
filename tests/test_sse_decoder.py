import itertools
import random
from collections.abc import Iterable

import pytest

from quart_llm.framing import LineTooLongError
from quart_llm.sse_decoder import (
    ServerSentEvent,
    SSEDecoder,
    SSEParser,
)

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
EXPECTED = [
    ServerSentEvent(data='{"delta":"café \u2028 😀"}'),
    ServerSentEvent(data="line one\n line two", event="update"),
    ServerSentEvent(data="[DONE]", id="7", retry=250),
]


def decode_lines(*lines: bytes, decoder: SSEDecoder | None = None) -> list[ServerSentEvent]:
    decoder = decoder if decoder is not None else SSEDecoder()
    return [event for line in lines if (event := decoder.decode(line)) is not None]


def parse(chunks: Iterable[bytes]) -> list[ServerSentEvent]:
    parser = SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_event_is_frozen_and_parses_json() -> None:
    event = ServerSentEvent(data='{"a": [1, 2]}')
    assert event.json() == {"a": [1, 2]}
    with pytest.raises(AttributeError):
        event.data = "x"  # type: ignore[misc]


def test_single_data_line_dispatches_on_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.decode(b"data: hi") is None
    assert decoder.decode(b"") == ServerSentEvent(data="hi")
    assert decoder.decode(b"") is None


def test_multi_line_data_is_joined_with_newline() -> None:
    events = decode_lines(b"data: first line", b"data:", b"data: second line", b"")
    assert events == [ServerSentEvent(data="first line\n\nsecond line")]


def test_only_one_leading_space_is_stripped_and_name_ends_at_first_colon() -> None:
    events = decode_lines(b"data:x", b"data:  y", b"data: a: b", b"data", b"")
    assert events == [ServerSentEvent(data="x\n y\na: b\n")]


def test_comments_are_counted_and_never_dispatch() -> None:
    decoder = SSEDecoder()
    assert decode_lines(b": keepalive", b"", b":", b"", decoder=decoder) == []
    assert decoder.comments == 2
    assert decode_lines(b"data: x", b": mid-event", b"", decoder=decoder) == [
        ServerSentEvent(data="x")
    ]
    assert decoder.comments == 3


def test_event_without_data_is_dispatched_with_empty_data() -> None:
    assert decode_lines(b"event: ping", b"") == [ServerSentEvent(data="", event="ping")]
    assert decode_lines(b"data:", b"") == [ServerSentEvent(data="")]


def test_unknown_fields_are_ignored() -> None:
    assert decode_lines(b"foo: bar", b"Data: x", b"data : y", b"") == []
    assert decode_lines(b"foo: bar", b"data: z", b"") == [ServerSentEvent(data="z")]


def test_id_with_nul_is_ignored() -> None:
    assert decode_lines(b"id: a\x00b", b"") == []
    assert decode_lines(b"id: 1", b"data: x", b"", b"id: 2\x00", b"data: y", b"") == [
        ServerSentEvent(data="x", id="1"),
        ServerSentEvent(data="y", id="1"),
    ]


def test_last_event_id_persists_but_does_not_cause_empty_dispatch() -> None:
    decoder = SSEDecoder()
    events = decode_lines(
        b"id: 5", b"data: a", b"", b": keepalive", b"", b"", b"data: b", b"", decoder=decoder
    )
    assert events == [ServerSentEvent(data="a", id="5"), ServerSentEvent(data="b", id="5")]
    assert decoder.last_event_id == "5"
    assert decode_lines(b"id: 9", b"") == [ServerSentEvent(data="", id="9")]


@pytest.mark.parametrize("value", [b"", b"1.5", b"-1", b"10x", b"  10", b"\xd9\xa3", b"abc"])
def test_non_numeric_retry_is_ignored(value: bytes) -> None:
    assert decode_lines(b"retry:" + value, b"") == []
    assert decode_lines(b"retry:" + value, b"data: x", b"") == [ServerSentEvent(data="x")]


def test_numeric_retry_is_reported_for_its_event_only() -> None:
    assert decode_lines(b"retry: 3000", b"data: x", b"", b"data: y", b"") == [
        ServerSentEvent(data="x", retry=3000),
        ServerSentEvent(data="y"),
    ]


def test_leading_bom_is_dropped_only_at_stream_start() -> None:
    assert decode_lines(b"\xef\xbb\xbfdata: x", b"") == [ServerSentEvent(data="x")]
    assert decode_lines(b"\xef\xbb\xbf", b"data: x", b"") == [ServerSentEvent(data="x")]
    assert decode_lines(b"", b"\xef\xbb\xbfdata: x", b"") == []
    assert decode_lines(b"data: \xef\xbb\xbfx", b"") == [ServerSentEvent(data="\ufeffx")]


def test_invalid_utf8_is_replaced() -> None:
    assert decode_lines(b"data: a\xffb\xc3", b"") == [ServerSentEvent(data="a\ufffdb\ufffd")]


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


def test_parser_exposes_decoder_comment_count() -> None:
    parser = SSEParser()
    parser.feed(STREAM)
    assert parser.decoder.comments == 2


def test_parser_drops_event_not_closed_at_eof() -> None:
    decoder = SSEDecoder()
    parser = SSEParser(decoder=decoder)
    chunks = [STREAM[i : i + 5] for i in range(0, len(STREAM), 5)]
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    assert events == EXPECTED
    assert decoder.comments == 2
    assert SSEParser().feed(b"data: x\n") == []


def test_parser_raises_on_overlong_line() -> None:
    parser = SSEParser(max_line_bytes=64)
    assert parser.feed(b"data: ok\n\n") == [ServerSentEvent(data="ok")]
    with pytest.raises(LineTooLongError, match="64 bytes"):
        parser.feed(b"data: " + b"x" * 100)


@pytest.mark.parametrize("cut", range(len(STREAM) + 1))
def test_feed_data_gives_the_data_of_every_event(cut: int) -> None:
    parser = SSEParser()
    found = parser.feed_data(STREAM[:cut]) + parser.feed_data(STREAM[cut:])
    assert found == [event.data for event in EXPECTED]
    assert parser.decoder.comments == 2


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


def test_feed_data_matches_feed_on_random_streams() -> None:
    """The one-step path for `data:` + blank line must agree with the line-by-line decoder
    whatever comes before, between and after, however the stream is cut."""
    rng = random.Random(11)
    for _ in range(500):
        terminator = rng.choice((b"\n", b"\r\n", b"\r"))
        stream = b"".join(rng.choice(LINES) + terminator for _ in range(rng.randrange(1, 24)))
        cuts = sorted(rng.sample(range(len(stream) + 1), rng.randrange(min(6, len(stream) + 1))))
        bounds = [0, *cuts, len(stream)]
        chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]
        by_event, by_data = SSEParser(), SSEParser()
        expected = [event.data for chunk in chunks for event in by_event.feed(chunk)]
        assert [data for chunk in chunks for data in by_data.feed_data(chunk)] == expected, stream
        assert by_data.decoder.comments == by_event.decoder.comments
        assert by_data.decoder.last_event_id == by_event.decoder.last_event_id


def test_feed_data_strips_a_bom_only_at_the_stream_start() -> None:
    assert SSEParser().feed_data(b"\xef\xbb\xbfdata: a\n\n") == ["a"]
    # The first event took the one-step path; a BOM after it is part of a field name.
    assert SSEParser().feed_data(b"data: a\n\n\xef\xbb\xbfdata: b\n\n") == ["a"]
