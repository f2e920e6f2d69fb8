"""`GET /openapi-3.1.json`: the OpenAPI 3.1 copy of the document, for SDK generators that read
only 3.1. quart-schema serves the canonical 3.2 document at `/openapi.json`; both are public
and unlimited, like the health routes."""

from __future__ import annotations

from quart import Blueprint, Response, current_app
from quart_rate_limiter import rate_exempt
from quart_schema import hide

from quart_llm.web.auth import public
from quart_llm.web.openapi_versions import as_openapi_3_1
from quart_llm.web.responses import JSON_CONTENT_TYPE

blueprint = Blueprint("openapi_copies", __name__)


@blueprint.get("/openapi-3.1.json")
@rate_exempt
@public
@hide
async def get_openapi_3_1() -> Response:
    """The API document as OpenAPI 3.1 (event streams' `itemSchema` under `x-itemSchema`)."""
    spec = current_app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    return Response(current_app.json.dumps(as_openapi_3_1(spec)), content_type=JSON_CONTENT_TYPE)
