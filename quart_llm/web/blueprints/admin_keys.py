"""`/admin/v1/keys`: API keys made, listed, shown, changed and revoked at runtime (admin keys
only; the work is `services.key_admin`)."""

from __future__ import annotations

from quart import Response
from quart_schema import document_response, validate_querystring

from quart_llm.schemas.admin_keys import (
    CreatedKey,
    KeyChanges,
    KeyCreate,
    KeyList,
    KeyListQuery,
    KeyObject,
)
from quart_llm.web.admin_auth import admin_blueprint
from quart_llm.web.context import current_services
from quart_llm.web.openapi_provider import document_errors
from quart_llm.web.request_validation import validate_request
from quart_llm.web.responses import json_response

blueprint = admin_blueprint("admin_keys", __name__)


@blueprint.post("/keys")
@validate_request(KeyCreate)
@document_response(CreatedKey, 201)
@document_errors(400, 401, 413, 415, 429, 503)
async def create_key(data: KeyCreate) -> Response:
    """Create an API key.

    The answer carries the key's `secret`: it is shown this once and never again (only its
    digest is stored). The key is in force on every replica within a second.
    """
    return json_response(await current_services().key_admin.create(data), status=201)


@blueprint.get("/keys")
@validate_querystring(KeyListQuery)
@document_response(KeyList, 200)
@document_errors(400, 401, 429, 503)
async def list_keys(query_args: KeyListQuery) -> Response:
    """List API keys, a page at a time.

    The keys of settings come first (`source` "settings", read-only), then the keys made at
    runtime, oldest first. Pass `next_cursor` as `cursor` for the next page.
    """
    return json_response(await current_services().key_admin.page(query_args))


@blueprint.get("/keys/<key_id>")
@document_response(KeyObject, 200)
@document_errors(401, 404, 429, 503)
async def get_key(key_id: str) -> Response:
    """Show one API key (never its secret)."""
    return json_response(await current_services().key_admin.get(key_id))


@blueprint.patch("/keys/<key_id>")
@validate_request(KeyChanges)
@document_response(KeyObject, 200)
@document_errors(400, 401, 404, 409, 413, 415, 429, 503)
async def update_key(key_id: str, data: KeyChanges) -> Response:
    """Change an API key: the fields sent are set (null clears one), the others kept.

    Keys from settings are read-only (409 `static_key`).
    """
    return json_response(await current_services().key_admin.update(key_id, data))


@blueprint.delete("/keys/<key_id>")
@document_response(KeyObject, 200)
@document_errors(401, 404, 409, 429, 503)
async def revoke_key(key_id: str) -> Response:
    """Revoke an API key: refused (401) on every replica within a second. Revoking it again
    answers the same."""
    return json_response(await current_services().key_admin.revoke(key_id))
