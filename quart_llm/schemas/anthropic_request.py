"""The Messages API's request (Anthropic's `POST /v1/messages`), checked before any translation.

Only what the gateway can translate into a chat request is accepted: text, image, tool_use and
tool_result blocks, custom tools, `tool_choice`, the sampling fields, `stop_sequences` and
`metadata.user_id`. Unknown fields are refused (400), as Anthropic refuses them, so a feature
the gateway cannot honour (`thinking`, server tools) is never dropped silently;
`cache_control` marks are accepted and ignored (they only ask for caching). The bounds are
the chat request's, so every accepted request translates.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from quart_llm.schemas.chat_request import (
    INT64_MAX,
    MAX_MESSAGES,
    MAX_STOP,
    MAX_TOOLS,
    JSONObject,
    OutputTokens,
    Probability,
)

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnthropicCacheControl(_Wire):
    """A prompt-caching mark: accepted, and ignored by the gateway."""

    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class AnthropicTextBlock(_Wire):
    """A block of text."""

    type: Literal["text"]
    text: str
    cache_control: AnthropicCacheControl | None = None


class AnthropicBase64Source(_Wire):
    """An image sent inline, base64-encoded."""

    type: Literal["base64"]
    media_type: Literal["image/jpeg", "image/png", "image/gif", "image/webp"]
    data: str = Field(min_length=1)


class AnthropicURLSource(_Wire):
    """An image the upstream fetches (providers that fetch nothing refuse it)."""

    type: Literal["url"]
    url: str = Field(min_length=1)


class AnthropicImageBlock(_Wire):
    """An image, in a user message."""

    type: Literal["image"]
    source: Annotated[AnthropicBase64Source | AnthropicURLSource, Field(discriminator="type")]
    cache_control: AnthropicCacheControl | None = None


class AnthropicToolUseBlock(_Wire):
    """A tool call the assistant made, in an assistant message."""

    type: Literal["tool_use"]
    id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=256)
    input: JSONObject
    cache_control: AnthropicCacheControl | None = None


class AnthropicToolResultBlock(_Wire):
    """The result of a tool call, in a user message (text only)."""

    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1, max_length=256)
    content: str | list[AnthropicTextBlock] | None = None
    is_error: bool | None = None
    cache_control: AnthropicCacheControl | None = None


AnthropicContentBlock = Annotated[
    AnthropicTextBlock | AnthropicImageBlock | AnthropicToolUseBlock | AnthropicToolResultBlock,
    Field(discriminator="type"),
]
_USER_ONLY = ("image", "tool_result")


class AnthropicInputMessage(_Wire):
    """One turn of the conversation."""

    role: Literal["user", "assistant"]
    content: str | Annotated[list[AnthropicContentBlock], Field(min_length=1)]

    @model_validator(mode="after")
    def _blocks_fit_role(self) -> AnthropicInputMessage:
        if isinstance(self.content, str):
            return self
        for block in self.content:
            if self.role == "assistant" and block.type in _USER_ONLY:
                raise ValueError(f"an assistant message cannot contain {block.type} blocks")
            if self.role == "user" and block.type == "tool_use":
                raise ValueError("a user message cannot contain tool_use blocks")
        return self


class AnthropicTool(_Wire):
    """A client tool the model may call, with the JSON schema of its input."""

    name: str = Field(min_length=1, max_length=64, pattern=TOOL_NAME_PATTERN)
    description: str | None = None
    input_schema: JSONObject
    type: Literal["custom"] | None = None
    cache_control: AnthropicCacheControl | None = None


class AnthropicToolChoiceAuto(_Wire):
    """The model decides whether to call a tool."""

    type: Literal["auto"]
    disable_parallel_tool_use: bool | None = None


class AnthropicToolChoiceAny(_Wire):
    """The model must call one of the tools."""

    type: Literal["any"]
    disable_parallel_tool_use: bool | None = None


class AnthropicToolChoiceTool(_Wire):
    """The model must call this tool."""

    type: Literal["tool"]
    name: str = Field(min_length=1, max_length=64)
    disable_parallel_tool_use: bool | None = None


class AnthropicToolChoiceNone(_Wire):
    """The model must not call a tool."""

    type: Literal["none"]


AnthropicToolChoice = Annotated[
    AnthropicToolChoiceAuto
    | AnthropicToolChoiceAny
    | AnthropicToolChoiceTool
    | AnthropicToolChoiceNone,
    Field(discriminator="type"),
]


class AnthropicMetadata(_Wire):
    """Who the request is for (passed upstream as the chat request's `user`)."""

    user_id: str | None = Field(default=None, max_length=256)


class AnthropicCountTokensRequest(_Wire):
    """What `POST /v1/messages/count_tokens` counts: a conversation, its system prompt and
    tools. The model is routed as for `/v1/messages` (a `provider/` prefix picks one)."""

    model: str = Field(min_length=1, max_length=512)
    messages: list[AnthropicInputMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    system: str | list[AnthropicTextBlock] | None = None
    tools: Annotated[list[AnthropicTool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: AnthropicToolChoice | None = None

    @model_validator(mode="after")
    def _choice_needs_tools(self) -> AnthropicCountTokensRequest:
        if self.tool_choice is not None and self.tool_choice.type != "none" and not self.tools:
            raise ValueError("tool_choice needs tools")
        return self


class AnthropicMessagesRequest(AnthropicCountTokensRequest):
    """A Messages API request in Anthropic's shape; `max_tokens` is required."""

    max_tokens: OutputTokens
    stop_sequences: Annotated[list[str], Field(max_length=MAX_STOP)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    top_p: Probability | None = None
    top_k: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = None
    metadata: AnthropicMetadata | None = None
    stream: bool = False
