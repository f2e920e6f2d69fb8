"""The per-app runtime state, kept in `app.extensions` (never in module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app

from quart_llm.auth import KeyRing
from quart_llm.background import BackgroundTasks
from quart_llm.config import Settings
from quart_llm.draining import Drainer
from quart_llm.health import HealthChecker
from quart_llm.models_catalog import ModelsCatalog
from quart_llm.observability.metrics import GatewayMetrics
from quart_llm.providers import Provider
from quart_llm.quotas.service import QuotaService
from quart_llm.random_ids import RandomIds
from quart_llm.resilience.attempts import Attempter

EXTENSION_KEY = "quart_llm"


@dataclass(slots=True)
class Gateway:
    settings: Settings
    keyring: KeyRing
    providers: dict[str, Provider]
    health: HealthChecker
    models: ModelsCatalog
    quotas: QuotaService
    tasks: BackgroundTasks
    drainer: Drainer
    attempter: Attempter
    metrics: GatewayMetrics
    ids: RandomIds = field(default_factory=RandomIds)

    async def start(self) -> None:
        await self.quotas.start()
        for provider in self.providers.values():
            await provider.start()

    async def stop(self) -> None:
        await self.tasks.drain(timeout=5.0)
        for provider in self.providers.values():
            await provider.aclose()
        await self.quotas.stop()


def current_gateway() -> Gateway:
    gateway = current_app.extensions[EXTENSION_KEY]
    if not isinstance(gateway, Gateway):
        raise RuntimeError("the quart_llm extension is not installed on this app")
    return gateway
