"""What providers hand back: chunks and completions already in OpenAI's choice shape.

Choices stay plain dicts so that fields the gateway does not model (logprobs, refusal,
annotations) pass through from OpenAI-compatible upstreams untouched, and so that the hot
path does no per-chunk model validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class TokenUsage:
    """The tokens one answer used, as the upstream reported them or as estimated."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    cost: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        """Prompt and completion tokens together."""
        return self.prompt_tokens + self.completion_tokens

    def to_wire(self) -> dict[str, Any]:
        """The `usage` object of OpenAI's answers, with `cost` and `estimated` when known."""
        wire: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }
        wire.update(self.details)
        if self.cost is not None:
            wire["cost"] = self.cost
        if self.estimated:
            wire["estimated"] = True
        return wire


def token_count(value: Any) -> int | None:
    """A count an upstream reported: a non-negative integer (booleans are not counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


@dataclass(slots=True)
class StreamChunk:
    """One upstream chunk: OpenAI chunk choices (index, delta, finish_reason) and/or usage."""

    choices: list[dict[str, Any]]
    usage: TokenUsage | None = None


@dataclass(slots=True)
class Completion:
    """A whole answer: OpenAI completion choices (index, message, finish_reason)."""

    choices: list[dict[str, Any]]
    usage: TokenUsage | None = None
    extra: dict[str, Any] = field(default_factory=dict)


EmbeddingInputs = list[str] | list[list[int]]
"""One upstream request's inputs: texts, or token arrays."""


@dataclass(slots=True)
class Embeddings:
    """An upstream's vectors, one per input in the order of the inputs, and its usage."""

    vectors: list[list[float]]
    usage: TokenUsage | None = None
