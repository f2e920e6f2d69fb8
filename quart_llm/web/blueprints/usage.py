"""`GET /v1/usage`: the calling key's usage and limits."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.schemas.usage import UsageResponse
from quart_llm.services.usage import usage_report
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_services
from quart_llm.web.openapi_provider import document_errors
from quart_llm.web.responses import json_response

blueprint = Blueprint("usage", __name__)


@blueprint.get("/v1/usage")
@tag(["usage"])
@document_response(UsageResponse, 200)
@document_errors(401, 429, 503)
async def get_usage() -> Response:
    """Report the calling key's usage and limits.

    Requests answered and tokens used in the current window of each period and in total,
    by provider and model. `estimated_requests` counts answers whose token counts are the
    gateway's estimate because the upstream reported none.
    """
    report = await usage_report(current_services().quotas, current_principal().key_id)
    return json_response(report)
