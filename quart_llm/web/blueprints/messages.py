"""The Messages API's routes (Anthropic's `/v1/messages` and `/v1/messages/count_tokens`).

Their errors are told in Anthropic's shape and statuses (`anthropic_errors`), and every answer
carries the request id as `request-id` too, the header Anthropic's SDKs read.
"""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.observability.request_ids import current_request_id
from quart_llm.schemas.anthropic_request import (
    AnthropicCountTokensRequest,
    AnthropicMessagesRequest,
)
from quart_llm.schemas.anthropic_response import (
    AnthropicErrorBody,
    AnthropicMessage,
    AnthropicStreamEvent,
    AnthropicTokenCount,
)
from quart_llm.services.anthropic_messages import count_tokens, create_message, stream_message
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_record, current_services
from quart_llm.web.error_handlers import anthropic_errors
from quart_llm.web.openapi_provider import document_errors, streams_events
from quart_llm.web.request_validation import validate_request
from quart_llm.web.responses import event_stream_response, json_response

blueprint = Blueprint("messages", __name__)
ANTHROPIC_REQUEST_ID_HEADER = "request-id"


@blueprint.after_request
async def add_anthropic_request_id(response: Response) -> Response:
    """The request id under the header name Anthropic's SDKs read."""
    request_id = current_request_id.get()
    if request_id is not None:
        response.headers[ANTHROPIC_REQUEST_ID_HEADER] = request_id
    return response


@blueprint.post("/v1/messages")
@anthropic_errors
@tag(["anthropic"])
@validate_request(AnthropicMessagesRequest)
@streams_events(AnthropicStreamEvent, always=False, error=AnthropicErrorBody, terminator=None)
@document_response(AnthropicMessage, 200)
@document_errors(400, 401, 403, 404, 413, 415, 429, 502, 504, 529, body=AnthropicErrorBody)
async def create_anthropic_message(data: AnthropicMessagesRequest) -> Response:
    """Create a message (Anthropic's Messages API).

    Any configured provider answers, as for chat: a `provider/` prefix on `model` picks it.
    Send the key as `x-api-key` or `Authorization: Bearer`; `anthropic-version` is accepted
    and not needed. Errors are Anthropic's: `{"type": "error", "error": {"type", "message"}}`,
    529 `overloaded_error` when the gateway or an upstream cannot take the request now. With
    `stream: true`, every event is named (`event:`): `message_start`, content blocks,
    `message_delta`, `message_stop`, and `ping` while the model is silent; a failure after the
    start is one `event: error`, and the stream ends without `message_stop`.
    """
    services, principal, record = current_services(), current_principal(), current_record()
    if data.stream:
        return event_stream_response(await stream_message(services, principal, data, record))
    answer = await create_message(services, principal, data, record)
    return json_response(answer.body, headers=answer.headers)


@blueprint.post("/v1/messages/count_tokens")
@anthropic_errors
@tag(["anthropic"])
@validate_request(AnthropicCountTokensRequest)
@document_response(AnthropicTokenCount, 200)
@document_errors(400, 401, 403, 413, 415, 429, 529, body=AnthropicErrorBody)
async def count_anthropic_message_tokens(data: AnthropicCountTokensRequest) -> Response:
    """Count a message's input tokens (the gateway's estimate).

    The estimate the gateway reserves against token budgets for the prompt: about four
    characters a token plus a few a message; no upstream is asked.
    """
    return json_response(count_tokens(current_services(), current_principal(), data))
