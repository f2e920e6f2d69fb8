"""The Messages API (Anthropic's `/v1/messages`) as a translation of the chat pipeline.

A Messages request becomes a `ChatRequest` (`system` → a system message, `tool_result` blocks
→ tool messages ahead of the user's other blocks, `tool_use` blocks → the assistant's tool
calls, images → data or https URLs, `tool_choice` `any` → `required`, `stop_sequences` →
`stop`, `metadata.user_id` → `user`), then goes through the same `complete_chat` and
`stream_chat` as chat: same keys, quotas, routing, capacity, usage, metrics and logs. The
whole answer is translated back here; the stream in `streaming/anthropic_events`.
"""

from __future__ import annotations

from typing import Any

import orjson

from quart_llm.errors import UpstreamProtocolError
from quart_llm.observability.request_record import RequestRecord
from quart_llm.providers.token_estimates import estimate_prompt_tokens
from quart_llm.schemas.anthropic_request import (
    AnthropicCountTokensRequest,
    AnthropicInputMessage,
    AnthropicMessagesRequest,
    AnthropicTextBlock,
    AnthropicToolChoice,
)
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.services.chat import WholeAnswer, complete_chat
from quart_llm.services.chat_streaming import EventStream, stream_chat
from quart_llm.services.chat_translation import as_chat_request, image_part, text_of
from quart_llm.services.container import Services
from quart_llm.services.keys import Principal
from quart_llm.services.upstream_call import refuse_unless_allowed
from quart_llm.streaming.anthropic_events import AnthropicEvents, stop_reason

_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


async def create_message(
    services: Services,
    principal: Principal,
    request: AnthropicMessagesRequest,
    record: RequestRecord,
) -> WholeAnswer:
    """A whole Messages answer."""
    answer = await complete_chat(services, principal, chat_request(request), record)
    message_id = "msg_" + services.ids.hex(12)
    return WholeAnswer(message_body(answer.body, message_id), answer.headers)


async def stream_message(
    services: Services,
    principal: Principal,
    request: AnthropicMessagesRequest,
    record: RequestRecord,
) -> EventStream:
    """A streamed Messages answer; a failure before its first chunk is raised as it is."""
    shape = AnthropicEvents("msg_" + services.ids.hex(12))
    chat = chat_request(request, stream=True)
    return await stream_chat(services, principal, chat, record, include_usage=True, shape=shape)


def count_tokens(
    services: Services, principal: Principal, request: AnthropicCountTokensRequest
) -> dict[str, int]:
    """The gateway's estimate of the request's input tokens: the same estimate its quotas
    reserve for the prompt. The model is judged as a Messages request's would be (a 400 for
    one no provider could be, a 403 for one the key may not use), though no upstream is
    asked."""
    refuse_unless_allowed(principal, request.model, services.router.served_by(request.model))
    return {"input_tokens": estimate_prompt_tokens(chat_request(request).messages)}


def chat_request(request: AnthropicCountTokensRequest, *, stream: bool = False) -> ChatRequest:
    """The chat request a Messages request asks for (400 when it cannot be one)."""
    messages: list[dict[str, Any]] = []
    if request.system is not None:
        messages.append({"role": "system", "content": _system_text(request.system)})
    for message in request.messages:
        messages.extend(_chat_messages(message))
    fields: dict[str, Any] = {"model": request.model, "messages": messages, "stream": stream}
    if request.tools:
        fields["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.input_schema,
                },
            }
            for tool in request.tools
        ]
    if request.tool_choice is not None:
        fields.update(_tool_choice(request.tool_choice))
    if isinstance(request, AnthropicMessagesRequest):
        fields.update(
            max_tokens=request.max_tokens,
            stop=request.stop_sequences,
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            user=request.metadata.user_id if request.metadata else None,
        )
    return as_chat_request(fields)


def message_body(answer: dict[str, Any], message_id: str) -> dict[str, Any]:
    """A chat completion's first choice as an Anthropic message."""
    choice = answer["choices"][0]
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{message_id.removeprefix('msg_')}{len(content)}",
                "name": function.get("name") or "",
                "input": _tool_input(function.get("arguments"), answer["provider"]),
            }
        )
    usage = answer["usage"]
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": answer["model"],
        "stop_reason": stop_reason(choice.get("finish_reason")),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "output_tokens": usage["completion_tokens"],
        },
    }


def _system_text(system: str | list[AnthropicTextBlock]) -> str:
    return system if isinstance(system, str) else "\n".join(block.text for block in system)


def _chat_messages(message: AnthropicInputMessage) -> list[dict[str, Any]]:
    """One Messages turn as chat messages: tool results first (each a tool message), then
    what the user or the assistant said."""
    if isinstance(message.content, str):
        return [{"role": message.role, "content": message.content}]
    chat: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    tool_calls: list[dict[str, Any]] = []
    for block in message.content:
        if block.type == "tool_result":
            chat.append(
                {
                    "role": "tool",
                    "tool_call_id": block.tool_use_id,
                    "content": text_of(block.content),
                }
            )
        elif block.type == "tool_use":
            arguments = orjson.dumps(block.input).decode()
            function = {"name": block.name, "arguments": arguments}
            tool_calls.append({"id": block.id, "type": "function", "function": function})
        elif block.type == "image":
            source = block.source
            url = (
                source.url
                if source.type == "url"
                else f"data:{source.media_type};base64,{source.data}"
            )
            parts.append(image_part(url))
        else:
            parts.append({"type": "text", "text": block.text})
    if message.role == "assistant":
        text = "".join(part["text"] for part in parts)
        assistant: dict[str, Any] = {"role": "assistant", "content": text or None}
        if tool_calls:
            assistant["tool_calls"] = tool_calls
        chat.append(assistant)
    elif parts:
        chat.append({"role": "user", "content": parts})
    return chat


def _tool_choice(choice: AnthropicToolChoice) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if choice.type == "tool":
        fields["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    else:
        fields["tool_choice"] = _TOOL_CHOICES[choice.type]
    if choice.type != "none" and choice.disable_parallel_tool_use:
        fields["parallel_tool_calls"] = False
    return fields


def _tool_input(arguments: Any, provider: str) -> dict[str, Any]:
    """A tool call's arguments as the object a `tool_use` block carries."""
    try:
        parsed = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamProtocolError(provider, "a tool call's arguments are not a JSON object")
    return parsed
