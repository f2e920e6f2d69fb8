"""A deliberately simple, independent SSE reader for asserting what the gateway sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ParsedStream:
    events: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    other_fields: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1] == "[DONE]"

    @property
    def chunks(self) -> list[dict[str, Any]]:
        return [json.loads(event) for event in self.events if event != "[DONE]"]

    @property
    def text(self) -> str:
        return "".join(
            choice["delta"].get("content") or ""
            for chunk in self.chunks
            if "choices" in chunk
            for choice in chunk["choices"]
        )

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [chunk["error"] for chunk in self.chunks if "error" in chunk]


def parse_sse(body: str) -> ParsedStream:
    """Events must be `data:` lines ended by a blank line; anything else is recorded."""
    parsed = ParsedStream()
    assert "\r" not in body, "the gateway writes LF line endings"
    for block in body.split("\n\n"):
        if not block:
            continue
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith(":"):
                parsed.comments.append(line[1:].strip())
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
            else:
                parsed.other_fields.append(line)
        if data:
            parsed.events.append("\n".join(data))
    assert body.endswith("\n\n") or not body, "every event ends with a blank line"
    return parsed
