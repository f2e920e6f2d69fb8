"""The model list across providers, cached briefly; a provider that is down is left out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from quart_llm.errors import UpstreamError
from quart_llm.lib.refreshing import Refreshing
from quart_llm.providers.base import Provider
from quart_llm.services.keys import Principal

logger = logging.getLogger("quart_llm.models")


def usable_cards(
    cards: list[dict[str, Any]], principal: Principal, served_by: Callable[[str], list[str]]
) -> list[dict[str, Any]]:
    """The cards of the models `principal` may use (`Principal.may_use`, with `served_by`
    naming what would serve each id): all of them for a key that names no models."""
    key = principal.key
    if key is None or key.allowed_models is None:
        return cards
    return [card for card in cards if principal.may_use(card["id"], served_by(card["id"]))]


class ModelCatalog:
    """The aliases, then the models of every reachable provider as `provider/model` cards."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        cache_seconds: float,
        timeout: float,
        aliases: Iterable[str] = (),
    ) -> None:
        self._providers = providers
        self._timeout = timeout
        self._aliases = sorted(aliases)
        self._cards = Refreshing(self._list_all, cache_seconds)

    async def model_cards(self) -> list[dict[str, Any]]:
        """The model cards (cached for `cache_seconds`)."""
        return await self._cards.get()

    async def _list_all(self) -> list[dict[str, Any]]:
        names = list(self._providers)
        listed = await asyncio.gather(*(self._list(name) for name in names))
        created = int(time.time())
        cards: list[dict[str, Any]] = [
            {"id": alias, "object": "model", "created": created, "owned_by": "quart_llm"}
            for alias in self._aliases
        ]
        for name, models in zip(names, listed, strict=True):
            cards.extend(
                {"id": f"{name}/{model}", "object": "model", "created": created, "owned_by": name}
                for model in models
            )
        return cards

    async def _list(self, name: str) -> list[str]:
        provider = self._providers[name]
        configured = list(provider.settings.models)
        try:
            async with asyncio.timeout(self._timeout):
                listed = set(await provider.list_models()) | set(configured)
                return sorted(model for model in listed if model.strip())
        except (UpstreamError, TimeoutError) as exc:
            logger.warning("provider %s left out of the model list: %s", name, exc)
            return []
