"""The Responses API's route (OpenAI's `/v1/responses`, stateless)."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.schemas.responses_request import CreateResponseRequest
from quart_llm.schemas.responses_response import (
    ResponseFailedEvent,
    ResponseObject,
    ResponseStreamEvent,
)
from quart_llm.services.responses_api import create_response, stream_response
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_record, current_services
from quart_llm.web.openapi_provider import document_errors, streams_events
from quart_llm.web.request_validation import validate_request
from quart_llm.web.responses import event_stream_response, json_response

blueprint = Blueprint("responses", __name__)


@blueprint.post("/v1/responses")
@tag(["responses"])
@validate_request(CreateResponseRequest)
@streams_events(ResponseStreamEvent, always=False, error=ResponseFailedEvent, terminator=None)
@document_response(ResponseObject, 200)
@document_errors(400, 401, 403, 404, 413, 415, 429, 502, 503, 504)
async def create_model_response(data: CreateResponseRequest) -> Response:
    """Create a model response (OpenAI's Responses API, stateless).

    Any configured provider answers, as for chat: a `provider/` prefix on `model` picks it.
    Nothing is stored: `store: true` and `previous_response_id` are refused (400); send the
    whole conversation in `input`, earlier output items included. With `stream: true`, every
    event is named (`event:`) and numbered: `response.created`, `response.in_progress`, the
    output items' events, then `response.completed` (`response.incomplete` at the output
    limit); a failure after the start is one `response.failed`, never followed by
    `response.completed`.
    """
    services, principal, record = current_services(), current_principal(), current_record()
    if data.stream:
        return event_stream_response(await stream_response(services, principal, data, record))
    answer = await create_response(services, principal, data, record)
    return json_response(answer.body, headers=answer.headers)
