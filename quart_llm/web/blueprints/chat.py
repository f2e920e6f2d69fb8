"""The chat routes: OpenAI's `/v1/chat/completions` and the always-streaming `/v1/chat/stream`."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.schemas.chat_response import ChatCompletion, ChatCompletionChunk
from quart_llm.services.chat import complete_chat
from quart_llm.services.chat_streaming import stream_chat
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_record, current_services
from quart_llm.web.openapi_provider import document_errors, streams_events
from quart_llm.web.request_validation import validate_request
from quart_llm.web.responses import event_stream_response, json_response

blueprint = Blueprint("chat", __name__)


@blueprint.post("/v1/chat/completions")
@tag(["chat"])
@validate_request(ChatRequest)
@streams_events(ChatCompletionChunk, always=False)
@document_response(ChatCompletion, 200)
@document_errors(400, 401, 403, 404, 413, 415, 429, 502, 503, 504)
async def create_chat_completion(data: ChatRequest) -> Response:
    """Create a chat completion (OpenAI-compatible).

    With `stream: true` the reply is `text/event-stream`: one `chat.completion.chunk` per
    `data:` event, a usage chunk when `stream_options.include_usage` is true, then
    `data: [DONE]`. A failure after the stream has started arrives as one
    `data: {"error": ...}` event with no `[DONE]`. The provider is chosen by `provider`, by
    a `provider/` prefix on `model`, or is the default provider.
    """
    services, principal, record = current_services(), current_principal(), current_record()
    if data.stream:
        include_usage = bool(data.stream_options and data.stream_options.include_usage)
        stream = await stream_chat(services, principal, data, record, include_usage=include_usage)
        return event_stream_response(stream)
    answer = await complete_chat(services, principal, data, record)
    return json_response(answer.body, headers=answer.headers)


@blueprint.post("/v1/chat/stream")
@tag(["chat"])
@validate_request(ChatRequest)
@streams_events(ChatCompletionChunk, always=True)
@document_errors(400, 401, 403, 404, 413, 415, 429, 502, 503, 504)
async def stream_chat_completion(data: ChatRequest) -> Response:
    """Stream a chat completion as Server-Sent Events.

    The same request as `/v1/chat/completions`, always streamed and always with a usage
    chunk before `data: [DONE]`; `stream` in the body is ignored.
    """
    stream = await stream_chat(
        current_services(), current_principal(), data, current_record(), include_usage=True
    )
    return event_stream_response(stream)
