"""What a request costs, decided in one place: `PriceBook.cost`.

A cost comes from the first of: the cost the upstream reported for the answer (OpenRouter's
`usage.cost`, whole or streamed), the operator's price table (`pricing.models`), the prices
the provider publishes (OpenRouter's model list). None of them: the cost is unknown, `None`,
never a made-up zero. Published prices are read when serving starts (waiting at most
`FIRST_LOAD_SECONDS`) and then again every `pricing.refresh_seconds` in the background; a
request only ever reads what is already held, so pricing never waits on an upstream.

A USD budget reserves a request's worst case before the upstream call, at the dearest price of
every route the request may take (fallbacks and an alias's deployments included), so a
fallback to a dearer model cannot take a budget further than a reservation allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal

from quart_llm.config.accounting_models import PricingSettings
from quart_llm.errors import UpstreamError
from quart_llm.lib.background_tasks import cancel_and_wait
from quart_llm.lib.prices import Price, usd_from_reported
from quart_llm.providers.base import Provider

logger = logging.getLogger("quart_llm.pricing")
FIRST_LOAD_SECONDS = 5.0
RETRY_SECONDS = 60.0
"""How soon a provider whose prices could not be read is asked again."""


class PriceBook:
    """Prices by provider and model: the operator's table, then what providers publish."""

    def __init__(self, settings: PricingSettings, providers: Mapping[str, Provider]) -> None:
        self._table: dict[tuple[str, str], Price] = {}
        for name, price in settings.models.items():
            provider, _, model = name.lower().partition("/")
            self._table[provider, model] = Price(price.input_per_million, price.output_per_million)
        self._providers = providers
        self._published: dict[str, dict[str, Price]] = {}
        self._refresh_seconds = settings.refresh_seconds
        self._task: asyncio.Task[None] | None = None
        self._first_load = asyncio.Event()

    def price(self, provider: str, model: str) -> Price | None:
        """The price of `provider`'s `model`, if one is known (the table's names match
        without regard to case: settings keys are read lower-case)."""
        price = self._table.get((provider, model.lower()))
        if price is None:
            price = self._published.get(provider, {}).get(model)
        return price

    def dearest(self, routes: Iterable[tuple[str, str]]) -> Price | None:
        """The dearest price of these (provider, model) routes; None if any is unpriced."""
        dearest: Price | None = None
        for provider, model in routes:
            price = self.price(provider, model)
            if price is None:
                return None
            dearest = price if dearest is None else dearest.dearest(price)
        return dearest

    def unpriced(self, routes: Iterable[tuple[str, str]]) -> str:
        """The first of these (provider, model) routes without a price, as `provider/model`."""
        for provider, model in routes:
            if self.price(provider, model) is None:
                return f"{provider}/{model}"
        return ""

    def cost(
        self,
        provider: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        upstream_cost: float | None = None,
    ) -> Decimal | None:
        """USD a request cost: the upstream's own figure when it reported a usable one (a
        finite number, not negative), else its tokens at the model's price; None when neither
        is known."""
        if upstream_cost is not None and math.isfinite(upstream_cost) and upstream_cost >= 0:
            return usd_from_reported(upstream_cost)
        price = self.price(provider, model)
        if price is None:
            return None
        return price.cost(prompt_tokens, completion_tokens)

    async def start(self) -> None:
        """Read the published prices (waiting at most `FIRST_LOAD_SECONDS`), then keep them
        fresh in the background."""
        if self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._refresh_forever())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FIRST_LOAD_SECONDS):
                await self._first_load.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _refresh_forever(self) -> None:
        while True:
            failed = await self.refresh()
            self._first_load.set()
            wait = self._refresh_seconds
            await asyncio.sleep(min(wait, RETRY_SECONDS) if failed else wait)

    async def refresh(self) -> bool:
        """Read every provider's published prices once; True if any could not be read (its
        prices so far are kept)."""
        names = list(self._providers)
        results = await asyncio.gather(
            *(self._providers[name].published_prices() for name in names),
            return_exceptions=True,
        )
        failed = False
        for name, result in zip(names, results, strict=True):
            if isinstance(result, UpstreamError):
                failed = True
                logger.warning("prices of provider %s not read: %s", name, result)
            elif isinstance(result, Exception):
                failed = True
                logger.error("prices of provider %s not read", name, exc_info=result)
            elif isinstance(result, BaseException):
                raise result
            elif result:
                self._published[name] = result
        return failed
