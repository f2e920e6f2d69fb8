"""The chat routes: OpenAI's `/v1/chat/completions` and the always-streaming `/v1/chat/stream`."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag, validate_request

from quart_llm.auth import current_principal
from quart_llm.chat_service import complete_chat, stream_chat
from quart_llm.gateway import current_gateway
from quart_llm.observability.request_record import current_record
from quart_llm.openapi import document_errors, streams_events
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.schemas.responses import ChatCompletion, ChatCompletionChunk


def create_chat_blueprint() -> Blueprint:
    blueprint = Blueprint("chat", __name__)

    @blueprint.post("/v1/chat/completions")
    @tag(["chat"])
    @validate_request(ChatRequest)
    @streams_events(ChatCompletionChunk, always=False)
    @document_response(ChatCompletion, 200)
    @document_errors(400, 401, 404, 413, 415, 429, 502, 503, 504)
    async def create_chat_completion(data: ChatRequest) -> Response:
        """Create a chat completion (OpenAI-compatible).

        With `stream: true` the reply is `text/event-stream`: one `chat.completion.chunk` per
        `data:` event, a usage chunk when `stream_options.include_usage` is true, then
        `data: [DONE]`. A failure after the stream has started arrives as one
        `data: {"error": ...}` event with no `[DONE]`. The provider is chosen by `provider`, by
        a `provider/` prefix on `model`, or is the default provider.
        """
        gateway = current_gateway()
        if data.stream:
            include_usage = bool(data.stream_options and data.stream_options.include_usage)
            return await stream_chat(
                gateway, current_principal(), data, current_record(), include_usage=include_usage
            )
        return await complete_chat(gateway, current_principal(), data, current_record())

    @blueprint.post("/v1/chat/stream")
    @tag(["chat"])
    @validate_request(ChatRequest)
    @streams_events(ChatCompletionChunk, always=True)
    @document_errors(400, 401, 404, 413, 415, 429, 502, 503, 504)
    async def stream_chat_completion(data: ChatRequest) -> Response:
        """Stream a chat completion as Server-Sent Events.

        The same request as `/v1/chat/completions`, always streamed and always with a usage
        chunk before `data: [DONE]`; `stream` in the body is ignored.
        """
        return await stream_chat(
            current_gateway(), current_principal(), data, current_record(), include_usage=True
        )

    return blueprint
