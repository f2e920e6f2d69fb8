"""The Responses API (OpenAI's `/v1/responses`, stateless) as a translation of the chat pipeline.

A Responses request becomes a `ChatRequest` (`instructions` → a system message, a string
`input` → one user message, message items → messages, `function_call` items → the assistant's
tool calls, `function_call_output` items → tool messages, `text.format` → `response_format`,
`max_output_tokens` → `max_tokens`, `reasoning.effort` → `reasoning_effort`), then goes
through the same `complete_chat` and `stream_chat` as chat: same keys, quotas, routing,
capacity, usage, metrics and logs. Nothing is stored, so `store: true` and
`previous_response_id` are refused with a 400 that says so. The whole answer is translated
back here; the stream in `streaming/responses_events`.
"""

from __future__ import annotations

import time
from typing import Any

from quart_llm.errors import InvalidRequest
from quart_llm.observability.request_record import RequestRecord
from quart_llm.providers.answers import TokenUsage
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.schemas.responses_request import (
    CreateResponseRequest,
    ResponsesContentPart,
    ResponsesInputItem,
    ResponsesTextConfig,
)
from quart_llm.services.chat import WholeAnswer, complete_chat
from quart_llm.services.chat_streaming import EventStream, stream_chat
from quart_llm.services.chat_translation import as_chat_request, image_part, text_of
from quart_llm.services.container import Services
from quart_llm.services.keys import Principal
from quart_llm.streaming.responses_events import (
    ResponsesEvents,
    finished,
    function_call_item,
    message_item,
    responses_usage,
)

_TEXT_ROLES = frozenset({"assistant", "system", "developer"})
"""Roles whose content goes upstream as plain text."""


async def create_response(
    services: Services, principal: Principal, request: CreateResponseRequest, record: RequestRecord
) -> WholeAnswer:
    """A whole response."""
    chat = chat_request(request)
    answer = await complete_chat(services, principal, chat, record)
    body = response_object(request, "resp_" + services.ids.hex(12))
    return WholeAnswer(whole_response(body, answer.body), answer.headers)


async def stream_response(
    services: Services, principal: Principal, request: CreateResponseRequest, record: RequestRecord
) -> EventStream:
    """A streamed response; a failure before its first chunk is raised as it is."""
    chat = chat_request(request, stream=True)
    shape = ResponsesEvents(response_object(request, "resp_" + services.ids.hex(12)))
    return await stream_chat(services, principal, chat, record, include_usage=True, shape=shape)


def chat_request(request: CreateResponseRequest, *, stream: bool = False) -> ChatRequest:
    """The chat request a Responses request asks for (400 when it cannot be one, or asks for
    what is not kept here)."""
    _refuse_state(request)
    messages: list[dict[str, Any]] = []
    if request.instructions is not None:
        messages.append({"role": "system", "content": request.instructions})
    if isinstance(request.input, str):
        messages.append({"role": "user", "content": request.input})
    else:
        for item in request.input:
            _add_item(messages, item)
    fields: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "stream": stream,
        "max_tokens": request.max_output_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "parallel_tool_calls": request.parallel_tool_calls,
        "user": request.user,
        "reasoning_effort": request.reasoning.effort if request.reasoning else None,
        "response_format": _response_format(request.text),
    }
    if request.tools:
        fields["tools"] = [
            {"type": "function", "function": tool.model_dump(exclude={"type"}, exclude_none=True)}
            for tool in request.tools
        ]
    choice = request.tool_choice
    if choice is not None:
        fields["tool_choice"] = (
            choice
            if isinstance(choice, str)
            else {"type": "function", "function": {"name": choice.name}}
        )
    return as_chat_request(fields)


def response_object(request: CreateResponseRequest, response_id: str) -> dict[str, Any]:
    """The response object as the request makes it, before any output: its id and the
    parameters it echoes."""
    text_format = request.text.format if request.text is not None else None
    choice = request.tool_choice
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "model": request.model,
        "output": [],
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "tool_choice": choice.model_dump()
        if choice is not None and not isinstance(choice, str)
        else choice or "auto",
        "tools": [tool.model_dump(exclude_none=True) for tool in request.tools or ()],
        "text": {
            "format": text_format.model_dump(by_alias=True, exclude_none=True)
            if text_format is not None
            else {"type": "text"}
        },
        "usage": None,
        "store": False,
        "metadata": request.metadata or {},
        "previous_response_id": None,
        "user": request.user,
    }


def whole_response(response: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """`response` finished with a chat completion's first choice as its output."""
    choice = answer["choices"][0]
    message = choice.get("message") or {}
    finished(response, choice.get("finish_reason"))
    status = "completed" if response["status"] == "completed" else "incomplete"
    suffix = response["id"].removeprefix("resp_")
    output: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, str) and (text or not message.get("tool_calls")):
        output.append(message_item(f"msg_{suffix}0", text, status))
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        output.append(
            function_call_item(
                f"fc_{suffix}{len(output)}",
                call.get("id") or f"call_{suffix}{len(output)}",
                function.get("name") or "",
                function.get("arguments") or "",
                "completed",
            )
        )
    usage = answer["usage"]
    response.update(
        model=answer["model"],
        output=output,
        usage=responses_usage(TokenUsage(usage["prompt_tokens"], usage["completion_tokens"])),
    )
    return response


def _refuse_state(request: CreateResponseRequest) -> None:
    if request.previous_response_id is not None:
        raise InvalidRequest(
            "previous_response_id is not supported: this gateway stores no responses; send "
            "the whole conversation in `input`.",
            param="previous_response_id",
            code="unsupported_parameter",
        )
    if request.store:
        raise InvalidRequest(
            "store: true is not supported: this gateway stores no responses; send "
            "store: false (the default here).",
            param="store",
            code="unsupported_parameter",
        )


def _add_item(messages: list[dict[str, Any]], item: ResponsesInputItem) -> None:
    """Add one input item to the chat messages (consecutive function calls are one
    assistant turn)."""
    if item.type == "function_call":
        call = {
            "id": item.call_id,
            "type": "function",
            "function": {"name": item.name, "arguments": item.arguments},
        }
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif item.type == "function_call_output":
        output = item.output
        messages.append({"role": "tool", "tool_call_id": item.call_id, "content": text_of(output)})
    elif isinstance(item.content, str):
        messages.append({"role": item.role, "content": item.content})
    elif item.role in _TEXT_ROLES:
        messages.append({"role": item.role, "content": "".join(map(_part_text, item.content))})
    else:
        messages.append({"role": item.role, "content": [_user_part(p) for p in item.content]})


def _part_text(part: ResponsesContentPart) -> str:
    if part.type == "refusal":
        return part.refusal
    if part.type == "input_image":
        raise InvalidRequest("Only user messages may contain images.", param="input")
    return part.text


def _user_part(part: ResponsesContentPart) -> dict[str, Any]:
    if part.type == "input_image":
        return image_part(part.image_url, part.detail)
    return {"type": "text", "text": _part_text(part)}


def _response_format(text: ResponsesTextConfig | None) -> dict[str, Any] | None:
    text_format = text.format if text is not None else None
    if text_format is None or text_format.type == "text":
        return None
    if text_format.type == "json_object":
        return {"type": "json_object"}
    schema = text_format.model_dump(by_alias=True, exclude={"type"}, exclude_none=True)
    return {"type": "json_schema", "json_schema": schema}
