"""`GET /metrics`: Prometheus text format, behind its own token (never an API key)."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint, Response, request
from quart_rate_limiter import rate_exempt
from quart_schema import hide

from quart_llm.errors import AuthenticationFailed, GatewayError
from quart_llm.web.auth import bearer_token, public
from quart_llm.web.context import current_services

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
@rate_exempt
@public
@hide
async def get_metrics() -> Response:
    """Prometheus metrics, behind the metrics token (or open when `metrics.public`)."""
    services = current_services()
    settings = services.settings.metrics
    if not settings.public:
        if settings.token is None:
            raise GatewayError(
                "Metrics are closed: set metrics.token, or metrics.public = true.",
                status=403,
                error_type="permission_error",
                code="metrics_closed",
            )
        presented = bearer_token(request.headers.get("Authorization")) or ""
        expected = settings.token.get_secret_value()
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise AuthenticationFailed("Invalid metrics token.", code="invalid_metrics_token")
    return Response(services.metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
