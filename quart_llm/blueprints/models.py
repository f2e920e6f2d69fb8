"""`GET /v1/models`: the OpenAI model list across providers."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.gateway import current_gateway
from quart_llm.openapi import document_errors
from quart_llm.responses import json_response
from quart_llm.schemas.responses import ModelList


def create_models_blueprint() -> Blueprint:
    blueprint = Blueprint("models", __name__)

    @blueprint.get("/v1/models")
    @tag(["models"])
    @document_response(ModelList, 200)
    @document_errors(401, 429)
    async def list_models() -> Response:
        """List the models of every reachable provider.

        Ids are `provider/model` and can be used as the `model` of a chat request. The list is
        cached briefly; a provider that is down is left out rather than failing the call.
        """
        cards = await current_gateway().models.model_cards()
        return json_response({"object": "list", "data": cards})

    return blueprint
