"""quart-rate-limiter, made exact across replicas.

The library checks every limit with one store read and then updates each with a read and a
write: concurrent requests on several replicas all pass the check before any update lands.
This subclass keeps the library's hooks, `rate_exempt` marker and 429 semantics, but counts a
request with one atomic store call (a Lua script on Redis) against the caller's tier limits,
keyed on the API key id (never on X-Forwarded-For), shared by all routes, and puts the IETF
RateLimit headers of the tightest limit on every limited answer.
"""

from __future__ import annotations

from quart import Quart, Request, Response, current_app, g, request
from quart_rate_limiter import (
    QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE,
    QUART_RATE_LIMITER_LIMITS_ATTRIBUTE,
    RateLimiter,
)

from quart_llm.quotas import headers
from quart_llm.quotas.service import QuotaService
from quart_llm.services.keys import Principal
from quart_llm.web.auth import is_admin
from quart_llm.web.context import current_request, request_globals
from quart_llm.web.responses import add_missing_headers

EXEMPT_ENDPOINTS = frozenset({"openapi"})
"""Endpoints registered by extensions, which cannot carry the exempt attribute."""


async def _key_id_of_caller() -> str:
    principal = g.get("principal")
    if isinstance(principal, Principal):
        return principal.key_id
    return f"addr:{request.remote_addr}"


def _is_exempt(app: Quart, req: Request) -> bool:
    """Whether a request is exempt from request limits: no route matched, the OpenAPI
    document, a route marked `rate_exempt`, or the admin API (its callers are no API key with
    a tier)."""
    endpoint = req.endpoint
    if req.routing_exception is not None or endpoint is None or endpoint in EXEMPT_ENDPOINTS:
        return True
    view = app.view_functions.get(endpoint)
    if view is None:
        return True
    rule = req.url_rule
    return is_admin(view, rule.rule if rule else None) or bool(
        getattr(view, QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE, False)
    )


class GatewayRateLimiter(RateLimiter):
    """quart-rate-limiter, counting through the atomic quota store."""

    def __init__(self, app: Quart, quotas: QuotaService) -> None:
        self.quotas = quotas
        super().__init__(app, key_function=_key_id_of_caller)

    @staticmethod
    def refuse_per_route_limits(app: Quart) -> None:
        """Limits come from the key's tier; a per-route decorator would be silently partial."""
        for endpoint, view in app.view_functions.items():
            blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
            if hasattr(view, QUART_RATE_LIMITER_LIMITS_ATTRIBUTE) or hasattr(
                blueprint, QUART_RATE_LIMITER_LIMITS_ATTRIBUTE
            ):
                raise RuntimeError(
                    f"{endpoint}: use limits.tiers in settings instead of @rate_limit"
                )

    async def _before_serving(self) -> None:
        return None

    async def _after_serving(self) -> None:
        return None

    async def _before_request(self) -> None:
        """Count the request (the request, `g` and the app taken once: every request runs
        this)."""
        app = current_app._get_current_object()
        if not app.config["QUART_RATE_LIMITER_ENABLED"]:
            return
        if _is_exempt(app, current_request()):
            return
        decision = await self.quotas.count_request(await self.key_function())
        if decision is not None and decision.states:
            request_globals().rate_limit_headers = headers.request_limit_headers(decision.states)

    async def _after_request(self, response: Response) -> Response:
        limit_headers = request_globals().get("rate_limit_headers")
        if isinstance(limit_headers, dict):
            add_missing_headers(response.headers, limit_headers)
        return response
