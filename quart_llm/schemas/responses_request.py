"""The Responses API's request (OpenAI's `POST /v1/responses`, stateless here).

`input` is a string or a list of items: messages (with `input_text`, `input_image`, and the
`output_text` of earlier answers sent back), `function_call` and `function_call_output`. Only
function tools are accepted; `text.format` may ask for JSON or a JSON schema. Nothing is
stored: `store: true` and `previous_response_id` are accepted by the schema so that the
refusal can name its reason (a 400 from the translation). Unknown fields are refused (400).
The bounds are the chat request's, so every accepted request translates.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from quart_llm.schemas.anthropic_request import TOOL_NAME_PATTERN
from quart_llm.schemas.chat_request import (
    MAX_MESSAGES,
    MAX_TOOLS,
    JSONObject,
    OutputTokens,
    Probability,
)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResponsesInputText(_Wire):
    """Text the user (or the system) wrote."""

    type: Literal["input_text"]
    text: str


class ResponsesInputImage(_Wire):
    """An image, as an https or `data:image/...;base64,` URL."""

    type: Literal["input_image"]
    image_url: str = Field(min_length=1)
    detail: Literal["auto", "low", "high"] | None = None


class ResponsesOutputTextIn(_Wire):
    """Text of an earlier answer, sent back as part of the conversation."""

    type: Literal["output_text"]
    text: str
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class ResponsesRefusalIn(_Wire):
    """A refusal of an earlier answer, sent back."""

    type: Literal["refusal"]
    refusal: str


ResponsesContentPart = Annotated[
    ResponsesInputText | ResponsesInputImage | ResponsesOutputTextIn | ResponsesRefusalIn,
    Field(discriminator="type"),
]
_ITEM_STATUS = Literal["in_progress", "completed", "incomplete"]


class ResponsesMessageItem(_Wire):
    """A message of the conversation (`type` may be left out)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | Annotated[list[ResponsesContentPart], Field(min_length=1)]
    id: str | None = Field(default=None, max_length=256)
    status: _ITEM_STATUS | None = None


class ResponsesFunctionCallItem(_Wire):
    """A function call of an earlier answer, sent back."""

    type: Literal["function_call"]
    call_id: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=256)
    arguments: str = Field(description="The arguments as a JSON-encoded string.")
    id: str | None = Field(default=None, max_length=256)
    status: _ITEM_STATUS | None = None


class ResponsesFunctionCallOutputItem(_Wire):
    """The output of a function call."""

    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1, max_length=256)
    output: str | list[ResponsesInputText]
    id: str | None = Field(default=None, max_length=256)
    status: _ITEM_STATUS | None = None


def _item_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) else "message"


ResponsesInputItem = Annotated[
    Annotated[ResponsesMessageItem, Tag("message")]
    | Annotated[ResponsesFunctionCallItem, Tag("function_call")]
    | Annotated[ResponsesFunctionCallOutputItem, Tag("function_call_output")],
    Discriminator(_item_type),
]


class ResponsesFunctionTool(_Wire):
    """A function the model may call."""

    type: Literal["function"]
    name: str = Field(min_length=1, max_length=64, pattern=TOOL_NAME_PATTERN)
    description: str | None = None
    parameters: JSONObject | None = None
    strict: bool | None = None


class ResponsesNamedToolChoice(_Wire):
    """The model must call this function."""

    type: Literal["function"]
    name: str = Field(min_length=1, max_length=64)


class ResponsesTextFormatPlain(_Wire):
    """Plain text (the default)."""

    type: Literal["text"]


class ResponsesTextFormatJSONObject(_Wire):
    """Any JSON object."""

    type: Literal["json_object"]


class ResponsesTextFormatJSONSchema(_Wire):
    """JSON that follows this schema (passed to upstreams that can hold to one)."""

    type: Literal["json_schema"]
    name: str = Field(min_length=1, max_length=64)
    schema_: JSONObject = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


class ResponsesTextConfig(_Wire):
    """How the answer's text is formatted."""

    format: (
        Annotated[
            ResponsesTextFormatPlain
            | ResponsesTextFormatJSONObject
            | ResponsesTextFormatJSONSchema,
            Field(discriminator="type"),
        ]
        | None
    ) = None


class ResponsesReasoning(_Wire):
    """How hard a reasoning model thinks (passed as the chat request's `reasoning_effort`)."""

    effort: Literal["minimal", "low", "medium", "high"] | None = None


class CreateResponseRequest(_Wire):
    """A Responses API request; stateless: nothing is stored, nothing is continued."""

    model: str = Field(min_length=1, max_length=512)
    input: str | Annotated[list[ResponsesInputItem], Field(min_length=1, max_length=MAX_MESSAGES)]
    instructions: str | None = None
    tools: Annotated[list[ResponsesFunctionTool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: Literal["none", "auto", "required"] | ResponsesNamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: OutputTokens | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Probability | None = None
    text: ResponsesTextConfig | None = None
    reasoning: ResponsesReasoning | None = None
    stream: bool = False
    store: bool | None = Field(
        default=None, description="Only false: this gateway stores no responses."
    )
    previous_response_id: str | None = Field(
        default=None, description="Refused: this gateway stores no responses to continue."
    )
    metadata: dict[str, str] | None = None
    user: str | None = Field(default=None, max_length=256)
