"""quart-rate-limiter, made exact across replicas.

The library checks every limit with one store read and then updates each with a read and a
write: concurrent requests on several replicas all pass the check before any update lands.
This subclass keeps the library's hooks, `rate_exempt` marker and 429 semantics, but counts a
request with one atomic store call (a Lua script on Redis) against the caller's tier limits,
keyed on the API key id (never on X-Forwarded-For), shared by all routes, and puts the IETF
RateLimit headers of the tightest limit on every limited answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Quart, Response, current_app, g, request
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


def _is_exempt_view(view: Callable[..., Any], rule: str | None) -> bool:
    """Whether a view is exempt from request limits (the admin API is: its callers are no
    API key with a tier)."""
    return is_admin(view, rule) or bool(getattr(view, QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE, False))


class GatewayRateLimiter(RateLimiter):
    """quart-rate-limiter, counting through the atomic quota store."""

    def __init__(self, app: Quart, quotas: QuotaService) -> None:
        self.quotas = quotas
        super().__init__(app, key_function=_key_id_of_caller)

    def is_exempt(self, endpoint: str | None) -> bool:
        """Whether a route is exempt from request limits (the admin API is: its callers
        are no API key with a tier)."""
        if endpoint is None or endpoint in EXEMPT_ENDPOINTS:
            return True
        view = current_app.view_functions.get(endpoint)
        rule = request.url_rule
        return view is None or _is_exempt_view(view, rule.rule if rule else None)

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
        req = current_request()
        endpoint = req.endpoint
        if req.routing_exception is not None or endpoint is None or endpoint in EXEMPT_ENDPOINTS:
            return
        view = app.view_functions.get(endpoint)
        rule = req.url_rule
        if view is None or _is_exempt_view(view, rule.rule if rule else None):
            return
        decision = await self.quotas.count_request(await self.key_function())
        if decision is not None and decision.states:
            request_globals().rate_limit_headers = headers.request_limit_headers(decision.states)

    async def _after_request(self, response: Response) -> Response:
        limit_headers = request_globals().get("rate_limit_headers")
        if isinstance(limit_headers, dict):
            add_missing_headers(response.headers, limit_headers)
        return response
