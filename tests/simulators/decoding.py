"""Strict client-side decoders for checking simulator output: NDJSON and WHATWG SSE."""

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str = ""
    retry: int | None = None

    def json(self) -> Any:
        return orjson.loads(self.data)


@dataclass
class SSEParse:
    events: list[SSEEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    dropped: bool = False


def ndjson_lines(body: bytes) -> list[bytes]:
    """Lines of an NDJSON body split on b"\\n"; the body must end with a newline."""
    if not body.endswith(b"\n"):
        raise ValueError(f"NDJSON body does not end with a newline: {body[-40:]!r}")
    return body.split(b"\n")[:-1]


def parse_ndjson(body: bytes) -> list[Any]:
    return [orjson.loads(line) for line in ndjson_lines(body)]


def split_lines(body: bytes) -> tuple[list[str], bytes]:
    """Complete lines split on CRLF, LF or lone CR, and the unterminated rest."""
    lines: list[str] = []
    start = index = 0
    while index < len(body):
        byte = body[index]
        if byte in b"\r\n":
            lines.append(body[start:index].decode("utf-8"))
            crlf = byte == ord("\r") and body[index + 1 : index + 2] == b"\n"
            index += 2 if crlf else 1
            start = index
        else:
            index += 1
    return lines, body[start:]


def parse_sse(body: bytes) -> SSEParse:
    """Decode an SSE body the WHATWG way; an event not closed by a blank line is dropped."""
    lines, rest = split_lines(body.removeprefix(b"\xef\xbb\xbf"))
    result = SSEParse()
    data: list[str] = []
    event, last_id, retry = "", "", None
    for line in lines:
        if not line:
            if data:
                result.events.append(SSEEvent("\n".join(data), event or "message", last_id, retry))
            data, event = [], ""
            continue
        if line.startswith(":"):
            result.comments.append(line[1:].removeprefix(" "))
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    result.dropped = bool(data or rest)
    return result
