"""`GET /v1/models`: the OpenAI model list across providers."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.schemas.models import ModelList
from quart_llm.services.model_catalog import usable_cards
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_services
from quart_llm.web.openapi_provider import document_errors
from quart_llm.web.responses import json_response

blueprint = Blueprint("models", __name__)


@blueprint.get("/v1/models")
@tag(["models"])
@document_response(ModelList, 200)
@document_errors(401, 429)
async def list_models() -> Response:
    """List the models of every reachable provider that the caller's key may use.

    Ids are `provider/model` (and the configured aliases) and can be used as the `model` of a
    request. The list is cached briefly; a provider that is down is left out rather than
    failing the call. A key with `allowed_models` sees only the models it may use: an alias
    when the alias or one of its deployments matches.
    """
    services = current_services()
    cards = await services.models.model_cards()
    usable = usable_cards(cards, current_principal(), services.router.served_by)
    return json_response({"object": "list", "data": usable})
