"""A chat answer, whole and as stream chunks, for the OpenAPI document and generated SDKs.

The gateway builds its answers as plain dicts on the hot path; these models document them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated: bool | None = Field(
        default=None, description="True when the counts are the gateway's estimate."
    )
    cost: float | None = Field(default=None, description="Upstream cost in USD, when reported.")


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"]
    function: FunctionCallOut


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCallOut] | None = None
    reasoning: str | None = None


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(BaseModel):
    """A whole chat completion."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    provider: str
    choices: list[Choice]
    usage: Usage | None


class ToolCallDelta(BaseModel):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: dict[str, str] | None = None


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a chat stream; the last chunk before `[DONE]` may carry only usage."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    provider: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
