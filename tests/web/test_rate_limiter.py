"""Structural guards: every route is rate limited or explicitly exempt, and needs a key unless
it is explicitly public."""

from __future__ import annotations

from quart import Quart
from quart_rate_limiter import QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE

from quart_llm import create_app
from quart_llm.web.auth import is_public
from quart_llm.web.rate_limiter import EXEMPT_ENDPOINTS, GatewayRateLimiter

HEALTH = {"health.get_health", "health.get_liveness", "health.get_readiness"}
"""Orchestrators and load balancers call these without a key, as often as they like."""
DOCUMENTS = {"openapi", "openapi_copies.get_openapi_3_1"}
"""The OpenAPI 3.2 document and its 3.1 copy."""
CONSOLE = {"console.get_console", "console.get_console_file"}
"""The web console's static files: the console signs in with a key the user types, then calls
the API like any client, limited there."""
EXPECTED_EXEMPT = {*HEALTH, *DOCUMENTS, *CONSOLE, "metrics.get_metrics"}
EXPECTED_PUBLIC = {*HEALTH, *DOCUMENTS, *CONSOLE, "metrics.get_metrics"}
"""/metrics needs no API key: it has its own token (metrics.token) or is opened on purpose."""


def endpoints(app: Quart) -> list[str]:
    return sorted({rule.endpoint for rule in app.url_map.iter_rules()})


def test_every_route_is_limited_or_exempt() -> None:
    app = create_app()
    limiter = app.extensions["quart_llm.rate_limiter"]
    assert isinstance(limiter, GatewayRateLimiter)
    exempt = set()
    for endpoint in endpoints(app):
        view = app.view_functions[endpoint]
        marked = bool(getattr(view, QUART_RATE_LIMITER_EXEMPT_ATTRIBUTE, False))
        if marked or endpoint in EXEMPT_ENDPOINTS:
            exempt.add(endpoint)
    assert exempt == EXPECTED_EXEMPT, "a new exemption needs a reason, and this list updated"
    policy = limiter.quotas.policy("key_anything")
    assert policy.requests, "non-exempt routes are limited by the tier's request limits"


def test_every_route_needs_a_key_unless_public() -> None:
    app = create_app()
    public = {e for e in endpoints(app) if is_public(e, app.view_functions[e])}
    assert public == EXPECTED_PUBLIC
