"""`GET /v1/health`: public, cheap, never hangs."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_rate_limiter import rate_exempt
from quart_schema import document_response, security_scheme, tag

from quart_llm.schemas.errors import ErrorBody
from quart_llm.schemas.health import HealthReport
from quart_llm.web.auth import public
from quart_llm.web.context import current_services
from quart_llm.web.responses import json_response

blueprint = Blueprint("health", __name__)


@blueprint.get("/v1/health")
@rate_exempt
@public
@security_scheme([])
@tag(["health"])
@document_response(HealthReport, 200)
@document_response(ErrorBody, 503)
async def get_health() -> Response:
    """Report the gateway's health and each provider's reachability.

    Needs no API key. Probes are short and cached for a few seconds; `status` is `ok`
    when every configured provider answers and `degraded` otherwise (still HTTP 200).
    While the server shuts down the answer is a 503 error (`server_shutting_down`), so load
    balancers stop sending it work.
    """
    services = current_services()
    services.drainer.refuse_if_draining()
    states = await services.health.provider_states()
    healthy = all(state["reachable"] for state in states.values())
    return json_response(
        {
            "status": "ok" if healthy else "degraded",
            "version": services.version,
            "providers": states,
        }
    )
