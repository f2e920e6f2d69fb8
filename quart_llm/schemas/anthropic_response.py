"""The Messages API's answers, for the OpenAPI document: a message, a token count, the stream's
events and Anthropic's error body. The gateway builds them as plain dicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class AnthropicTextOut(BaseModel):
    """Text the model wrote."""

    type: Literal["text"]
    text: str


class AnthropicToolUseOut(BaseModel):
    """A tool call: send its result back in a `tool_result` block."""

    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class AnthropicUsage(BaseModel):
    """Tokens in and out (the gateway's estimate when the upstream reported none)."""

    input_tokens: int
    output_tokens: int


class AnthropicMessage(BaseModel):
    """A whole answer of the Messages API."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[AnthropicTextOut | AnthropicToolUseOut]
    model: str
    stop_reason: Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"] | None
    stop_sequence: str | None
    usage: AnthropicUsage


class AnthropicTokenCount(BaseModel):
    """The gateway's estimate of a request's input tokens."""

    input_tokens: int


class AnthropicErrorDetail(BaseModel):
    """What went wrong: Anthropic's error type and a message."""

    type: str
    message: str


class AnthropicErrorBody(BaseModel):
    """An error, in Anthropic's shape (also the data of a stream's `event: error`)."""

    type: Literal["error"]
    error: AnthropicErrorDetail
    request_id: str | None = None


class AnthropicStreamEvent(BaseModel):
    """One event of a Messages stream (its `event:` line names its `type`)."""

    type: Literal[
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    ]
    message: AnthropicMessage | None = None
    index: int | None = None
    content_block: dict[str, Any] | None = None
    delta: dict[str, Any] | None = None
    usage: dict[str, int] | None = None
