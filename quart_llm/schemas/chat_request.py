"""The chat request: OpenAI's fields plus `provider`, checked before anything reaches an upstream.

Unknown fields are refused (400), as OpenAI refuses them, so a misspelt parameter is never
dropped silently. Limits that guard the gateway (message count, stop sequences, tools) are
generous for real use and bounded against abuse. Everything accepted can be re-encoded for the
upstream: integers fit in 64 bits and free-form JSON (tool parameters, response schemas) nests
at most `MAX_JSON_DEPTH` levels.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

MAX_MESSAGES = 4096
MAX_TOOLS = 128
MAX_STOP = 4
MAX_OUTPUT_TOKENS = 1_000_000
MAX_JSON_DEPTH = 64
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _forwardable(value: dict[str, Any]) -> dict[str, Any]:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                pending.append((child, depth + 1))
            elif isinstance(child, int) and not INT64_MIN <= child <= INT64_MAX:
                raise ValueError("integers must fit in 64 bits")
    return value


JSONObject = Annotated[dict[str, Any], AfterValidator(_forwardable)]
_PRESENT: dict[str, Any] = {"not": {"type": "null"}}
_NO_TOOL_CALLS: dict[str, Any] = {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]}
_TEXT_ONLY: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"properties": {"type": {"const": "text"}}}},
    ]
}
_MESSAGE_RULES: dict[str, Any] = {
    "allOf": [
        {
            "if": {"properties": {"role": {"const": "assistant"}}},
            "then": {
                "anyOf": [
                    {"required": ["content"], "properties": {"content": _PRESENT}},
                    {
                        "required": ["tool_calls"],
                        "properties": {"tool_calls": {"type": "array", "minItems": 1}},
                    },
                ]
            },
            "else": {
                "required": ["content"],
                "properties": {"content": _PRESENT, "tool_calls": _NO_TOOL_CALLS},
            },
        },
        {
            "if": {"properties": {"role": {"const": "tool"}}},
            "then": {
                "required": ["tool_call_id"],
                "properties": {"tool_call_id": {"type": "string", "minLength": 1}},
            },
        },
        {
            "if": {"properties": {"role": {"enum": ["system", "developer", "tool"]}}},
            "then": {"properties": {"content": _TEXT_ONLY}},
        },
    ]
}
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Wire):
    type: Literal["text"]
    text: str


class ImageURL(_Wire):
    url: str = Field(min_length=1, description="An https URL or a `data:image/...;base64,` URL.")
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Wire):
    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class FunctionCall(_Wire):
    name: str = Field(min_length=1, max_length=256)
    arguments: str = Field(description="The arguments as a JSON-encoded string.")


class ToolCall(_Wire):
    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


_REQUEST_RULES: dict[str, Any] = {
    "allOf": [
        {
            "if": {
                "required": ["tool_choice"],
                "properties": {"tool_choice": {"not": {"enum": ["none", None]}}},
            },
            "then": {
                "required": ["tools"],
                "properties": {"tools": {"type": "array", "minItems": 1}},
            },
        },
        {
            "if": {"required": ["top_logprobs"], "properties": {"top_logprobs": _PRESENT}},
            "then": {"required": ["logprobs"], "properties": {"logprobs": {"const": True}}},
        },
    ]
}


class ChatMessage(_Wire):
    """One message of the conversation, as OpenAI clients send it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_MESSAGE_RULES)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=256)
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = Field(default=None, max_length=256)
    refusal: str | None = None

    @model_validator(mode="after")
    def _content_fits_role(self) -> ChatMessage:
        if self.role == "assistant":
            if self.content is None and not self.tool_calls:
                raise ValueError("an assistant message needs content or tool_calls")
        elif self.content is None:
            raise ValueError(f"a {self.role} message needs content")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        if self.role != "assistant" and self.tool_calls:
            raise ValueError("only assistant messages carry tool_calls")
        if (
            self.role in ("system", "developer", "tool")
            and isinstance(self.content, list)
            and any(isinstance(part, ImagePart) for part in self.content)
        ):
            raise ValueError(f"a {self.role} message cannot contain images")
        return self

    def text(self) -> str:
        """The message's text, parts joined; images are left out."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


class FunctionDefinition(_Wire):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    parameters: JSONObject | None = None
    strict: bool | None = None


class Tool(_Wire):
    type: Literal["function"]
    function: FunctionDefinition


class ToolChoiceFunction(_Wire):
    name: str


class NamedToolChoice(_Wire):
    type: Literal["function"]
    function: ToolChoiceFunction


class JSONSchemaFormat(_Wire):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    schema_: JSONObject | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Wire):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"type": {"const": "json_schema"}}},
            "then": {"required": ["json_schema"], "properties": {"json_schema": _PRESENT}},
        },
    )

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_when_needed(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type json_schema needs json_schema")
        return self


class StreamOptions(_Wire):
    include_usage: bool | None = None


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
OutputTokens = Annotated[int, Field(ge=1, le=MAX_OUTPUT_TOKENS)]


class ChatRequest(_Wire):
    """A chat completion request in the OpenAI shape.

    `model` may name its provider (`ollama/llama3.2`); `provider` names it explicitly.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_REQUEST_RULES)
    model: str = Field(min_length=1, max_length=512)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Probability | None = None
    max_tokens: OutputTokens | None = None
    max_completion_tokens: OutputTokens | None = None
    stop: str | Annotated[list[str], Field(max_length=MAX_STOP)] | None = None
    seed: Int64 | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    n: Annotated[int, Field(ge=1, le=16)] | None = None
    user: str | None = Field(default=None, max_length=256)
    response_format: ResponseFormat | None = None
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = Field(default=None, max_length=64)
    top_k: Annotated[int, Field(ge=0, le=INT64_MAX)] | None = None
    min_p: Probability | None = None
    repetition_penalty: Annotated[float, Field(gt=0.0, le=2.0)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ChatRequest:
        if self.tool_choice is not None and self.tool_choice != "none" and not self.tools:
            raise ValueError("tool_choice needs tools")
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs: true")
        return self

    @property
    def output_limit(self) -> int | None:
        """The requested cap on output tokens (`max_completion_tokens` wins)."""
        return self.max_completion_tokens or self.max_tokens

    def with_output_limit(self, limit: int | None) -> ChatRequest:
        """This request with `limit` as its cap on output tokens, for the upstream: the same
        request when it already names a cap (or there is none to add), else a copy whose
        `max_tokens` is set (the name every OpenAI-compatible server and the adapters read)."""
        if limit is None or self.output_limit is not None:
            return self
        return self.model_copy(update={"max_tokens": limit})

    @property
    def stop_sequences(self) -> list[str] | None:
        """`stop` as a list, or None."""
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def fields_set(self) -> set[str]:
        """Names of the optional fields the client actually sent with a value."""
        return {name for name in self.model_fields_set if getattr(self, name) is not None}
