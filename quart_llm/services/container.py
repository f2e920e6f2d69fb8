"""The gateway's services for one app: built once from settings, started and stopped with
serving, kept in `app.extensions` (never in module globals)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from quart_llm.config.models import Settings
from quart_llm.config.version import gateway_version
from quart_llm.lib.background_tasks import BackgroundTasks
from quart_llm.lib.random_ids import RandomIds
from quart_llm.observability.labels import ModelLabels
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.observability.tracing import Tracing, tracing_wanted
from quart_llm.providers import Provider, build_providers
from quart_llm.quotas.service import QuotaService
from quart_llm.quotas.stores import build_quota_store
from quart_llm.routing.attempts import Attempter
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.routing.router import Router
from quart_llm.services.capacity import Capacity
from quart_llm.services.draining import Drainer
from quart_llm.services.health import HealthChecker
from quart_llm.services.key_admin import KeyAdmin
from quart_llm.services.key_refresh import KeyRefresher
from quart_llm.services.key_registry import KeyRegistry
from quart_llm.services.keys import KeyRing
from quart_llm.services.model_catalog import ModelCatalog
from quart_llm.services.pricing import PriceBook
from quart_llm.services.usage_recorder import UsageRecorder
from quart_llm.store.database import Database


@dataclass(slots=True)
class Services:
    """Everything the routes use, for one app."""

    settings: Settings
    keys: KeyRegistry
    """The API keys, held in memory (settings' and the database's)."""
    key_refresher: KeyRefresher
    key_admin: KeyAdmin
    admin_keyring: KeyRing
    providers: dict[str, Provider]
    health: HealthChecker
    models: ModelCatalog
    quotas: QuotaService
    pricing: PriceBook
    tasks: BackgroundTasks
    drainer: Drainer
    router: Router
    attempter: Attempter
    database: Database
    usage: UsageRecorder
    metrics: GatewayMetrics
    capacity: Capacity
    version: str
    tracing: Tracing | None = None
    """The app's tracer, when tracing is on (None: nothing of tracing runs)."""
    ids: RandomIds = field(default_factory=RandomIds)

    async def start(self) -> None:
        """Migrate the database (and replay spilled usage records), read the keys, connect the
        quota store, open the providers' pools, read their published prices, start the health
        probes."""
        await self.database.start()
        await self.usage.start()
        await self.key_refresher.start()
        await self.quotas.start()
        for provider in self.providers.values():
            await provider.start()
        await self.pricing.start()
        self.health.start()

    async def stop(self) -> None:
        """Let background work finish briefly, write the last usage records, then close
        everything (serving stops)."""
        await self.health.stop()
        await self.pricing.stop()
        await self.tasks.drain(timeout=5.0)
        await self.usage.stop()
        for provider in self.providers.values():
            await provider.aclose()
        await self.quotas.stop()
        await self.key_refresher.stop()
        await self.database.stop()
        if self.tracing is not None:
            await self.tracing.shutdown()


def build_services(settings: Settings) -> Services:
    """Every service, wired from settings; nothing is connected until `start()`."""
    providers = build_providers(settings)
    circuits = CircuitBoard({name: p.settings.circuit for name, p in providers.items()})
    metrics = GatewayMetrics(
        ModelLabels({name: p.settings.models for name, p in providers.items()})
    )
    metrics.watch_circuits(circuits.all_states)
    probe_timeout = settings.health.probe_timeout_seconds
    version = gateway_version()
    database = Database(settings.database_url)
    ids = RandomIds()
    tracing = None
    if tracing_wanted(settings.tracing, os.environ):
        tracing = Tracing(settings.tracing, version)
    keys, refresher, quotas = _keys_and_quotas(settings, database, metrics)
    return Services(
        settings=settings,
        keys=keys,
        key_refresher=refresher,
        key_admin=KeyAdmin(database, keys, quotas.policies, refresher.announce),
        admin_keyring=KeyRing(settings.admin_keys, kind="admin key"),
        providers=providers,
        health=HealthChecker(providers, probe_timeout, settings.health.cache_seconds, circuits),
        models=ModelCatalog(
            providers, settings.models.cache_seconds, probe_timeout * 2, settings.aliases
        ),
        quotas=quotas,
        pricing=PriceBook(settings.pricing, providers),
        tasks=BackgroundTasks(),
        drainer=Drainer(),
        router=Router(
            providers, settings.default_provider, settings.aliases, settings.fallbacks, circuits
        ),
        attempter=Attempter(circuits, metrics),
        database=database,
        usage=UsageRecorder(
            settings.usage, database, metrics.usage_records.labels, ids, settings.aliases
        ),
        metrics=metrics,
        capacity=Capacity(settings.max_inflight),
        version=version,
        tracing=tracing,
        ids=ids,
    )


def _keys_and_quotas(
    settings: Settings, database: Database, metrics: GatewayMetrics
) -> tuple[KeyRegistry, KeyRefresher, QuotaService]:
    """The keys held in memory, what keeps them current, and the quotas, which ask the keys
    for each key's own tier and budgets."""
    keys = KeyRegistry(settings.api_keys, settings.limits.keys)
    quotas = QuotaService(
        build_quota_store(settings.redis_url, settings.redis_key_prefix),
        settings.limits,
        on_store_failure=metrics.quota_store_failures.inc,
        key_quotas=keys.quota_of,
    )
    refresher = KeyRefresher(
        keys,
        database,
        settings.keys,
        settings.redis_url,
        settings.redis_key_prefix,
        on_failure=metrics.key_refresh_failures.inc,
    )
    return keys, refresher, quotas
