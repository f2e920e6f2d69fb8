"""`GET /admin/v1/status`: what this gateway process carries right now (admin keys only)."""

from __future__ import annotations

from quart import Response
from quart_schema import document_response

from quart_llm.schemas.gateway_status import GatewayStatus
from quart_llm.services.gateway_status import gateway_status
from quart_llm.web.admin_auth import admin_blueprint
from quart_llm.web.context import current_services
from quart_llm.web.openapi_provider import document_errors
from quart_llm.web.responses import json_response

blueprint = admin_blueprint("admin_status", __name__)


@blueprint.get("/status")
@document_response(GatewayStatus, 200)
@document_errors(401, 429)
async def get_gateway_status() -> Response:
    """Report how busy this gateway process is, and with what.

    Chat requests in flight against `max_inflight`, open streams by provider, the quota
    store (its kind, whether it answers a PING now, its failure policy and failed calls) and
    each alias's deployments (weight, requests in flight, latency). Counts are this process's
    own: behind a load balancer, each replica reports itself. Needs an admin key.
    """
    return json_response(await gateway_status(current_services()))
