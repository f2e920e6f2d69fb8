"""The app factory: settings, services, extensions, hooks, blueprints and lifespan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Quart
from quart_schema import QuartSchema

from quart_llm.config.loader import load_settings
from quart_llm.config.models import Settings
from quart_llm.observability.log_batching import BatchingHandler
from quart_llm.observability.logs import configure_logging
from quart_llm.server import http2, http11_errors
from quart_llm.services.container import Services, build_services
from quart_llm.web.admin_auth import ADMIN_SECURITY_SCHEMES
from quart_llm.web.asgi_connection import RequestTaskBoundConnection
from quart_llm.web.blueprints import (
    admin_keys,
    admin_status,
    admin_usage,
    chat,
    console,
    embeddings,
    health,
    messages,
    metrics,
    models,
    openapi_copies,
    responses,
    usage,
)
from quart_llm.web.context import SERVICES_KEY
from quart_llm.web.error_handlers import register_error_handlers
from quart_llm.web.gateway_quart import GatewayQuart
from quart_llm.web.hooks import RequestHooks
from quart_llm.web.openapi_provider import GatewayOpenAPIProvider
from quart_llm.web.rate_limiter import GatewayRateLimiter
from quart_llm.web.stream_guard import ClosesUnsentStreams

_RESPONSE_TIMEOUT_MARGIN = 30.0


def create_app(overrides: Mapping[str, Any] | None = None) -> Quart:
    """Build a fresh gateway app; `overrides` win over every settings layer."""
    settings = load_settings(overrides)
    http11_errors.install()
    http2.install()
    services = build_services(settings)
    app = GatewayQuart("quart_llm", static_folder=None)
    app.asgi_http_class = RequestTaskBoundConnection
    _configure(app, settings)
    _document(app, services.version)
    app.extensions[SERVICES_KEY] = services
    RequestHooks(app, services)
    register_error_handlers(app)
    for blueprint in (
        health,
        models,
        chat,
        embeddings,
        messages,
        responses,
        usage,
        admin_keys,
        admin_usage,
        admin_status,
        console,
    ):
        app.register_blueprint(blueprint.blueprint)
    if settings.metrics.enabled:
        app.register_blueprint(metrics.blueprint)
    GatewayRateLimiter.refuse_per_route_limits(app)
    app.extensions["quart_llm.rate_limiter"] = GatewayRateLimiter(app, services.quotas)
    app.config["QUART_RATE_LIMITER_ENABLED"] = settings.limits.enabled
    app.asgi_app = ClosesUnsentStreams(app.asgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxy_hops:
        from hypercorn.middleware import ProxyFixMiddleware  # 0.4 s to import: only when used

        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxy_hops
        )
    _serve_with(app, services)
    return app


def _configure(app: Quart, settings: Settings) -> None:
    longest = max((p.timeouts.total for p in settings.active_providers.values()), default=600.0)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RESPONSE_TIMEOUT=longest + _RESPONSE_TIMEOUT_MARGIN,
        BODY_TIMEOUT=60,
        JSON_SORT_KEYS=False,
        PROPAGATE_EXCEPTIONS=False,
        PROVIDE_AUTOMATIC_OPTIONS=False,
        QUART_LLM_ENV=settings.env,
    )


def _document(app: Quart, version: str) -> None:
    """quart-schema, made per app: it keeps the provider of the last app it was bound to. It
    serves the OpenAPI 3.2 document at `/openapi.json`; the 3.1 copy has its own route."""
    QuartSchema(
        app,
        openapi_provider_class=GatewayOpenAPIProvider,
        info={
            "title": "quart_llm",
            "version": version,
            "description": "A streaming API gateway for large language models.",
        },
        security_schemes={
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            **ADMIN_SECURITY_SCHEMES,
        },
        security=[{"bearerAuth": []}],
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
    )
    app.register_blueprint(openapi_copies.blueprint)


def _serve_with(app: Quart, services: Services) -> None:
    """Start the services (and the log output) when serving starts; stop them after."""
    log_outputs: list[BatchingHandler] = []

    @app.before_serving
    async def start_services() -> None:
        log_outputs.append(configure_logging(services.settings.logging))
        await services.start()

    @app.after_serving
    async def stop_services() -> None:
        await services.stop()
        while log_outputs:
            log_outputs.pop().stop()
