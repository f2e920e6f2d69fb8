"""The app factory: settings, extensions, blueprints, error handlers and lifespan hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Quart
from quart_schema import QuartSchema

from quart_llm.auth import KeyRing
from quart_llm.background import BackgroundTasks
from quart_llm.blueprints.chat import create_chat_blueprint
from quart_llm.blueprints.health import create_health_blueprint, gateway_version
from quart_llm.blueprints.metrics import create_metrics_blueprint
from quart_llm.blueprints.models import create_models_blueprint
from quart_llm.blueprints.usage import create_usage_blueprint
from quart_llm.config import Settings
from quart_llm.draining import Drainer
from quart_llm.error_handlers import register_error_handlers
from quart_llm.gateway import EXTENSION_KEY, Gateway
from quart_llm.health import HealthChecker
from quart_llm.log_batching import BatchingHandler
from quart_llm.logging_setup import configure_logging
from quart_llm.models_catalog import ModelsCatalog
from quart_llm.observability.labels import ModelLabels
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.openapi import GatewayOpenAPIProvider
from quart_llm.providers import build_providers
from quart_llm.quotas.rate_limiter import GatewayRateLimiter
from quart_llm.quotas.service import QuotaService
from quart_llm.quotas.stores import build_quota_store
from quart_llm.request_hooks import install_request_hooks
from quart_llm.resilience.attempts import Attempter
from quart_llm.resilience.circuit import CircuitBreaker
from quart_llm.settings import load_settings

_RESPONSE_TIMEOUT_MARGIN = 30.0


def create_app(overrides: Mapping[str, Any] | None = None) -> Quart:
    """Build a fresh gateway app; `overrides` win over every settings layer."""
    settings = load_settings(overrides)
    app = Quart("quart_llm", static_folder=None)
    _configure(app, settings)
    version = gateway_version()
    QuartSchema(
        app,
        openapi_provider_class=GatewayOpenAPIProvider,
        info={
            "title": "quart_llm",
            "version": version,
            "description": "A streaming API gateway for large language models.",
        },
        security_schemes={"bearerAuth": {"type": "http", "scheme": "bearer"}},
        security=[{"bearerAuth": []}],
        swagger_ui_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
    )
    providers = build_providers(settings)
    circuits = {name: CircuitBreaker(p.settings.circuit) for name, p in providers.items()}
    metrics = GatewayMetrics(
        ModelLabels({name: p.settings.models for name, p in providers.items()})
    )
    gateway = Gateway(
        settings=settings,
        keyring=KeyRing(settings.api_keys),
        providers=providers,
        health=HealthChecker(
            providers,
            settings.health.probe_timeout_seconds,
            settings.health.cache_seconds,
            circuits,
        ),
        models=ModelsCatalog(
            providers, settings.models.cache_seconds, settings.health.probe_timeout_seconds * 2
        ),
        quotas=QuotaService(
            build_quota_store(settings.redis_url, settings.redis_key_prefix),
            settings.limits,
            on_store_failure=metrics.quota_store_failures.inc,
        ),
        tasks=BackgroundTasks(),
        drainer=Drainer(),
        attempter=Attempter(providers, circuits, settings.fallbacks, metrics),
        metrics=metrics,
    )
    app.extensions[EXTENSION_KEY] = gateway
    install_request_hooks(app, gateway)
    register_error_handlers(app)
    app.register_blueprint(create_health_blueprint(version))
    app.register_blueprint(create_models_blueprint())
    app.register_blueprint(create_chat_blueprint())
    app.register_blueprint(create_usage_blueprint())
    if settings.metrics.enabled:
        app.register_blueprint(create_metrics_blueprint())
    GatewayRateLimiter.refuse_per_route_limits(app)
    app.extensions["quart_llm.rate_limiter"] = GatewayRateLimiter(app, gateway.quotas)
    app.config["QUART_RATE_LIMITER_ENABLED"] = settings.limits.enabled

    if settings.trusted_proxy_hops:
        from hypercorn.middleware import ProxyFixMiddleware  # 0.4 s to import: only when used

        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxy_hops
        )

    log_listeners: list[BatchingHandler] = []

    @app.before_serving
    async def start_gateway() -> None:
        log_listeners.append(configure_logging(settings.logging))
        await gateway.start()

    @app.after_serving
    async def stop_gateway() -> None:
        await gateway.stop()
        while log_listeners:
            log_listeners.pop().stop()

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
