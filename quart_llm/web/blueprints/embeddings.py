"""The embeddings route (OpenAI's `/v1/embeddings`)."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.schemas.embeddings import EmbeddingsRequest, EmbeddingsResponse
from quart_llm.services.embeddings import create_embeddings
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_record, current_services
from quart_llm.web.openapi_provider import document_errors
from quart_llm.web.request_validation import validate_request
from quart_llm.web.responses import json_response

blueprint = Blueprint("embeddings", __name__)


@blueprint.post("/v1/embeddings")
@tag(["embeddings"])
@validate_request(EmbeddingsRequest)
@document_response(EmbeddingsResponse, 200)
@document_errors(400, 401, 404, 413, 415, 429, 502, 503, 504)
async def create_embedding(data: EmbeddingsRequest) -> Response:
    """Create embeddings (OpenAI-compatible).

    `input` is a string, an array of strings, an array of tokens or an array of token arrays
    (up to 2048 inputs); the vectors come back in the same order, as floats or, with
    `encoding_format: "base64"`, as little-endian float32 bytes in base64. `dimensions` is
    passed to the upstream. A `provider/` prefix on `model` picks the provider; one that
    cannot embed (or cannot embed with that model) is a 400 `embeddings_unsupported`. Large
    arrays are sent upstream in batches and reassembled in order.
    """
    services, principal, record = current_services(), current_principal(), current_record()
    answer = await create_embeddings(services, principal, data, record)
    return json_response(answer.body, headers=answer.headers)
