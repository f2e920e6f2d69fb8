"""What one outgoing stream knows and did, and the seam between its read loop and its shape.

`chat_events` owns the loop every stream runs: the read-ahead, keep-alive timing, the in-band
failure rule, the output-limit cut and the accounting. An `EventShape` only encodes: how the
events of one API look (OpenAI's chat chunks in `chat_chunks`, Anthropic's Messages events in
`anthropic_events`, the Responses API's typed events in `responses_events`). A shape keeps the
state of its own encoding (which content block is open, the sequence numbers), nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from quart_llm.errors import GatewayError
from quart_llm.providers.answers import TokenUsage
from quart_llm.providers.token_estimates import estimate_tokens_for_chars
from quart_llm.streaming.chat_chunks import ChatChunks
from quart_llm.streaming.output_limit import capped_usage, usage_at_limit


@dataclass(slots=True)
class StreamOutcome:
    """What a finished stream did: for usage accounting, metrics and the log line."""

    completed: bool = False
    error: GatewayError | None = None
    usage: TokenUsage | None = None
    finish_reason: str | None = None
    chunks: int = 0
    first_chunk_at: float | None = None
    last_chunk_at: float | None = None
    text_chars: int = 0
    output_deltas: int = 0
    """Deltas that carried output: a lower bound of the output tokens (see `output_limit`)."""
    finished_choices: set[int] = field(default_factory=set)
    cut_at_limit: bool = False
    """The upstream went past the output limit and the stream was ended there."""
    gateway_seconds: float = 0.0
    """Time spent relaying (parsing, accounting, encoding), upstream waiting excluded."""
    captured_text: list[str] | None = None
    """The answer's text pieces, kept only when a trace captures content (None: not kept)."""


class EventShape(Protocol):
    """How one API's stream looks to its client. Each method returns the bytes to send (b""
    for nothing); none of them decides when a stream ends or what it is charged."""

    def opening(self, context: StreamContext) -> bytes:
        """What goes out first, once the stream is committed."""
        ...

    def keepalive(self) -> bytes:
        """What goes out while the upstream is silent."""
        ...

    def chunk(self, choices: list[dict[str, Any]], context: StreamContext) -> bytes:
        """The events of one upstream chunk's choices (OpenAI's delta shape)."""
        ...

    def cut_at_limit(self, context: StreamContext) -> bytes:
        """What closes an answer cut at its output limit, before its ending."""
        ...

    def ending(self, context: StreamContext) -> bytes:
        """The end of a complete answer (usage, finish, the API's last event)."""
        ...

    def failure(self, error: GatewayError, context: StreamContext) -> bytes:
        """The one in-band event of a stream that failed after it started."""
        ...


def first_choice_delta(choices: list[dict[str, Any]]) -> tuple[str | None, list[Any]]:
    """The text and the tool-call deltas of the first choice: all a translated API relays (a
    Messages answer or a response has one choice, and no reasoning unless asked for)."""
    for choice in choices:
        delta = choice.get("delta")
        if choice.get("index", 0) == 0 and delta:
            return delta.get("content") or None, delta.get("tool_calls") or []
    return None, []


@dataclass(slots=True)
class StreamContext:
    """What a stream needs to shape its events, and what it did."""

    completion_id: str
    model: str
    provider: str
    include_usage: bool
    keepalive_seconds: float
    prompt_estimate: int
    request_id: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    outcome: StreamOutcome = field(default_factory=StreamOutcome)
    on_finish: Callable[[StreamContext], None] | None = None
    observe_gap: Callable[[float], None] | None = None
    output_cap: int | None = None
    """Output tokens the answer may have, every choice together (None: no limit)."""
    choices: int = 1
    shape: EventShape = field(default_factory=ChatChunks)
    """How the events look: OpenAI's chat chunks unless the route asks for another API's."""

    def final_usage(self) -> TokenUsage:
        """The upstream's usage, or an estimate marked as such when it sent none; never more
        output than the limit, and the limit itself when the stream was cut there."""
        outcome = self.outcome
        if outcome.cut_at_limit and self.output_cap is not None:
            prompt = outcome.usage.prompt_tokens if outcome.usage else self.prompt_estimate
            return usage_at_limit(prompt, self.output_cap)
        usage = outcome.usage or TokenUsage(
            self.prompt_estimate, estimate_tokens_for_chars(outcome.text_chars), estimated=True
        )
        return capped_usage(usage, self.output_cap)
