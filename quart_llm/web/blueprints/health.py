"""`GET /v1/health` (a report), `/v1/health/live` and `/v1/health/ready` (for orchestrators):
public, answered from cached probe results, never hanging."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_rate_limiter import rate_exempt
from quart_schema import document_response, security_scheme, tag

from quart_llm.errors import ServiceUnavailable
from quart_llm.schemas.errors import ErrorBody
from quart_llm.schemas.health import HealthReport, Liveness, Readiness
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


@blueprint.get("/v1/health/live")
@rate_exempt
@public
@security_scheme([])
@tag(["health"])
@document_response(Liveness, 200)
async def get_liveness() -> Response:
    """Report that the process serves (liveness).

    Always 200 while the process answers at all, draining included: a liveness check that
    restarts the gateway must not fire because it is busy or shutting down. Needs no key and
    asks nothing of any provider.
    """
    return json_response({"status": "alive"})


@blueprint.get("/v1/health/ready")
@rate_exempt
@public
@security_scheme([])
@tag(["health"])
@document_response(Readiness, 200)
@document_response(ErrorBody, 503)
async def get_readiness() -> Response:
    """Report whether the gateway should get traffic (readiness).

    200 when at least one provider answered its last probe and the server is not draining;
    otherwise a 503 error (`server_shutting_down` or `no_provider_reachable`). Answers from
    the probes' last results, never waiting for an upstream.
    """
    services = current_services()
    services.drainer.refuse_if_draining()
    if not await services.health.ready():
        raise ServiceUnavailable(
            "No provider answered its last health probe.",
            code="no_provider_reachable",
            headers={"Retry-After": "5"},
        )
    return json_response({"status": "ready"})
