"""The app factory: settings, extensions, blueprints, error handlers and lifespan hooks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import orjson
from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart, Response, g, request
from quart_schema import QuartSchema
from werkzeug.exceptions import (
    BadRequest,
    RequestEntityTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
)

from quart_llm.auth import KeyRing, is_public
from quart_llm.background import BackgroundTasks
from quart_llm.blueprints.chat import create_chat_blueprint
from quart_llm.blueprints.health import create_health_blueprint, gateway_version
from quart_llm.blueprints.metrics import create_metrics_blueprint
from quart_llm.blueprints.models import create_models_blueprint
from quart_llm.blueprints.usage import create_usage_blueprint
from quart_llm.config import Settings
from quart_llm.cors import CORSPolicy
from quart_llm.draining import Drainer
from quart_llm.error_handlers import register_error_handlers
from quart_llm.gateway import EXTENSION_KEY, Gateway
from quart_llm.health import HealthChecker
from quart_llm.logging_setup import configure_logging
from quart_llm.models_catalog import ModelsCatalog
from quart_llm.observability.labels import ModelLabels
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.observability.request_record import RequestRecord
from quart_llm.openapi import GatewayOpenAPIProvider
from quart_llm.providers import build_providers
from quart_llm.quotas.rate_limiter import GatewayRateLimiter
from quart_llm.quotas.service import QuotaService
from quart_llm.quotas.stores import build_quota_store
from quart_llm.request_ids import REQUEST_ID_HEADER, choose_request_id, current_request_id
from quart_llm.resilience.attempts import Attempter
from quart_llm.resilience.circuit import CircuitBreaker
from quart_llm.security_headers import SECURITY_HEADERS
from quart_llm.settings import load_settings

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HEALTH_ENDPOINT = "health.get_health"
OVERHEAD_HEADER = "X-Quart-LLM-Overhead-Ms"
_RESPONSE_TIMEOUT_MARGIN = 30.0


def create_app(overrides: Mapping[str, Any] | None = None) -> Quart:
    """Build a fresh gateway app; `overrides` win over every settings layer."""
    settings = load_settings(overrides)
    app = Quart("quart_llm", static_folder=None)
    _configure(app, settings)
    QuartSchema(
        app,
        openapi_provider_class=GatewayOpenAPIProvider,
        info={
            "title": "quart_llm",
            "version": gateway_version(),
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
    _install_request_hooks(app, gateway)
    register_error_handlers(app)
    app.register_blueprint(create_health_blueprint())
    app.register_blueprint(create_models_blueprint())
    app.register_blueprint(create_chat_blueprint())
    app.register_blueprint(create_usage_blueprint())
    if settings.metrics.enabled:
        app.register_blueprint(create_metrics_blueprint())
    GatewayRateLimiter.refuse_per_route_limits(app)
    app.extensions["quart_llm.rate_limiter"] = GatewayRateLimiter(app, gateway.quotas)
    app.config["QUART_RATE_LIMITER_ENABLED"] = settings.limits.enabled

    if settings.trusted_proxy_hops:
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxy_hops
        )

    @app.before_serving
    async def start_gateway() -> None:
        configure_logging(settings.logging)
        await gateway.start()

    @app.after_serving
    async def stop_gateway() -> None:
        await gateway.stop()

    return app


def _configure(app: Quart, settings: Settings) -> None:
    longest = max((p.timeouts.total for p in settings.active_providers.values()), default=600.0)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RESPONSE_TIMEOUT=longest + _RESPONSE_TIMEOUT_MARGIN,
        BODY_TIMEOUT=60,
        JSON_SORT_KEYS=False,
        PROPAGATE_EXCEPTIONS=False,
        QUART_LLM_ENV=settings.env,
    )


def _install_request_hooks(app: Quart, gateway: Gateway) -> None:
    cors = CORSPolicy(gateway.settings.cors_origins)

    @app.before_request
    async def identify_and_authenticate() -> Response | None:
        request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER))
        g.request_id = request_id
        current_request_id.set(request_id)
        g.record = RequestRecord(
            request_id=request_id,
            method=request.method,
            route=request.url_rule.rule if request.url_rule is not None else "unmatched",
            started=time.perf_counter(),
        )
        if cors.enabled and cors.is_preflight(request):
            return cors.preflight_response(request)
        if request.routing_exception is not None or request.endpoint is None:
            return None
        if request.endpoint != HEALTH_ENDPOINT:
            gateway.drainer.refuse_if_draining()
        view = app.view_functions[request.endpoint]
        if not is_public(request.endpoint, view):
            g.principal = gateway.keyring.authenticate(request.headers.get("Authorization"))
            g.record.key_id = g.principal.key_id
        if request.method in _BODY_METHODS:
            if request.mimetype != "application/json":
                raise UnsupportedMediaType()
            try:
                orjson.loads(await read_bounded_body())
            except orjson.JSONDecodeError as error:
                raise BadRequest() from error
        return None

    async def read_bounded_body() -> bytes:
        received = bytearray()
        try:
            async with asyncio.timeout(request.body_timeout):
                async for chunk in request.body:
                    received += chunk
                    if len(received) > gateway.settings.max_body_bytes:
                        raise RequestEntityTooLarge()
        except TimeoutError as error:
            raise RequestTimeout() from error
        data = bytes(received)
        request.body = request.body_class(None, None)
        request.body.set_result(data)
        return data

    @app.after_request
    async def add_common_headers(response: Response) -> Response:
        record = g.get("record")
        if isinstance(record, RequestRecord):
            record.status = response.status_code
            if not record.streamed:
                ended = time.perf_counter()
                overhead_ms = record.overhead_seconds(ended) * 1000
                response.headers[OVERHEAD_HEADER] = f"{overhead_ms:.3f}"
                record.finish(gateway.metrics, ended)
        request_id = g.get("request_id")
        if isinstance(request_id, str):
            response.headers[REQUEST_ID_HEADER] = request_id
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        cors.decorate(request, response)
        return response
