"""The model list across providers, cached briefly; a provider that is down is left out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from quart_llm.errors import UpstreamError
from quart_llm.providers.base import Provider

logger = logging.getLogger("quart_llm.models")


class ModelsCatalog:
    def __init__(
        self, providers: Mapping[str, Provider], cache_seconds: float, timeout: float
    ) -> None:
        self._providers = providers
        self._cache_seconds = cache_seconds
        self._timeout = timeout
        self._cached: list[dict[str, Any]] | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()

    async def model_cards(self) -> list[dict[str, Any]]:
        if self._fresh():
            return self._cached or []
        async with self._lock:
            if not self._fresh():
                names = list(self._providers)
                listed = await asyncio.gather(*(self._list(name) for name in names))
                created = int(time.time())
                cards: list[dict[str, Any]] = []
                for name, models in zip(names, listed, strict=True):
                    cards.extend(
                        {
                            "id": f"{name}/{model}",
                            "object": "model",
                            "created": created,
                            "owned_by": name,
                        }
                        for model in models
                    )
                self._cached = cards
                self._cached_at = time.monotonic()
        return self._cached or []

    def _fresh(self) -> bool:
        return self._cached is not None and time.monotonic() - self._cached_at < self._cache_seconds

    async def _list(self, name: str) -> list[str]:
        provider = self._providers[name]
        configured = list(provider.settings.models)
        try:
            async with asyncio.timeout(self._timeout):
                return sorted(set(await provider.list_models()) | set(configured))
        except (UpstreamError, TimeoutError) as exc:
            logger.warning("provider %s left out of the model list: %s", name, exc)
            return []
