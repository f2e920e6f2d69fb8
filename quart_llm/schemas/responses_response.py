"""The Responses API's answers, for the OpenAPI document: the response object and the stream's
events. The gateway builds them as plain dicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class ResponsesOutputText(BaseModel):
    """Text the model wrote."""

    type: Literal["output_text"]
    text: str
    annotations: list[Any]
    logprobs: list[Any] | None = None


class ResponsesOutputMessage(BaseModel):
    """An assistant message output item."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    status: Literal["in_progress", "completed", "incomplete"]
    content: list[ResponsesOutputText]


class ResponsesOutputFunctionCall(BaseModel):
    """A function call output item: send its result back as `function_call_output`."""

    id: str
    type: Literal["function_call"]
    status: Literal["in_progress", "completed", "incomplete"]
    call_id: str
    name: str
    arguments: str


class ResponsesUsage(BaseModel):
    """Tokens in and out (the gateway's estimate when the upstream reported none)."""

    input_tokens: int
    input_tokens_details: dict[str, int]
    output_tokens: int
    output_tokens_details: dict[str, int]
    total_tokens: int


class ResponsesError(BaseModel):
    """Why a response failed."""

    code: str
    message: str


class ResponseObject(BaseModel):
    """A response of the Responses API, whole, or as a stream's lifecycle events carry it."""

    id: str
    object: Literal["response"]
    created_at: int
    completed_at: int | None = None
    status: Literal["in_progress", "completed", "incomplete", "failed"]
    error: ResponsesError | None = None
    incomplete_details: dict[str, str] | None = None
    instructions: str | None
    max_output_tokens: int | None
    model: str
    output: list[ResponsesOutputMessage | ResponsesOutputFunctionCall]
    parallel_tool_calls: bool
    temperature: float | None
    top_p: float | None
    tool_choice: Any
    tools: list[dict[str, Any]]
    text: dict[str, Any]
    usage: ResponsesUsage | None = None
    store: bool
    metadata: dict[str, str]
    previous_response_id: str | None = None
    user: str | None = None


class ResponseStreamEvent(BaseModel):
    """One event of a Responses stream (its `event:` line names its `type`)."""

    type: Literal[
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
        "response.incomplete",
    ]
    sequence_number: int
    response: ResponseObject | None = None
    output_index: int | None = None
    item: ResponsesOutputMessage | ResponsesOutputFunctionCall | None = None
    item_id: str | None = None
    content_index: int | None = None
    part: ResponsesOutputText | None = None
    delta: str | None = None
    text: str | None = None
    name: str | None = None
    arguments: str | None = None
    logprobs: list[Any] | None = None


class ResponseFailedEvent(BaseModel):
    """The last event of a Responses stream that failed after it started."""

    type: Literal["response.failed"]
    sequence_number: int
    response: ResponseObject
