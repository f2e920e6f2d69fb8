"""The price book: the operator's table, then OpenRouter's published prices (read from the
OpenRouter simulator's model list), the upstream's reported cost winning over both, and an
unknown price left unknown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest

from quart_llm.config.accounting_models import PricingSettings
from quart_llm.lib.prices import Price
from quart_llm.providers.base import Provider
from quart_llm.providers.mock import MockProvider
from quart_llm.providers.openrouter import OpenRouterProvider
from quart_llm.services.pricing import PriceBook
from tests.providers.test_openai_compat import settings_for
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.log_capture import records_of

TABLE = {
    "mock/mock-1": {"input_per_million": "0.15", "output_per_million": "0.6"},
    "openrouter/openai/gpt-4o": {"input_per_million": "2.5", "output_per_million": "10"},
}


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(known_models=["openai/gpt-4o", "openai/gpt-4o-mini", "free/model"])


@pytest.fixture
def openrouter(config: SimulatorConfig) -> Iterator[OpenAICompatSimulator]:
    with OpenAICompatSimulator(config, flavor="openrouter") as simulator:
        yield simulator


@pytest.fixture
async def providers(openrouter: OpenAICompatSimulator) -> AsyncIterator[dict[str, Provider]]:
    settings = settings_for("openrouter", openrouter.base_url + "/api/v1")
    built: dict[str, Provider] = {
        "openrouter": OpenRouterProvider("openrouter", settings),
        "mock": MockProvider("mock", settings_for("mock", openrouter.base_url)),
    }
    for provider in built.values():
        await provider.start()
    yield built
    for provider in built.values():
        await provider.aclose()


@pytest.fixture
async def book(providers: dict[str, Provider]) -> AsyncIterator[PriceBook]:
    book = PriceBook(PricingSettings.model_validate({"models": TABLE}), providers)
    await book.start()
    yield book
    await book.stop()


async def test_published_prices_are_read_when_serving_starts(book: PriceBook) -> None:
    assert book.price("openrouter", "openai/gpt-4o-mini") == Price(Decimal(1), Decimal(2))
    assert book.cost("openrouter", "openai/gpt-4o-mini", 1000, 500) == Decimal("0.002")


async def test_the_operator_s_table_wins_over_published_prices(book: PriceBook) -> None:
    assert book.price("openrouter", "openai/gpt-4o") == Price(Decimal("2.5"), Decimal(10))
    assert book.cost("mock", "mock-1", 1000, 500) == Decimal("0.00045")


async def test_the_table_matches_names_without_regard_to_case(
    providers: dict[str, Provider],
) -> None:
    table = {"mock/Meta-Llama/Llama-3.1-8B": TABLE["mock/mock-1"]}
    book = PriceBook(PricingSettings.model_validate({"models": table}), providers)
    assert book.price("mock", "meta-llama/Llama-3.1-8B") == Price(Decimal("0.15"), Decimal("0.6"))


async def test_a_reported_cost_wins_over_every_price(book: PriceBook) -> None:
    assert book.cost("openrouter", "openai/gpt-4o", 1000, 500, upstream_cost=0.0125) == (
        Decimal("0.0125")
    )
    assert book.cost("mock", "unpriced", 10, 10, upstream_cost=0.0) == 0, "a free answer"


@pytest.mark.parametrize("reported", [-0.5, float("nan"), float("inf")])
async def test_a_reported_cost_that_is_no_cost_is_ignored(book: PriceBook, reported: float) -> None:
    assert book.cost("mock", "mock-1", 1000, 500, upstream_cost=reported) == Decimal("0.00045")
    assert book.cost("mock", "mock-2", 1000, 500, upstream_cost=reported) is None


async def test_an_unknown_price_is_none_never_zero(book: PriceBook) -> None:
    assert book.price("mock", "mock-2") is None
    assert book.cost("mock", "mock-2", 1000, 500) is None
    routes = [("mock", "mock-1"), ("mock", "mock-2")]
    assert book.dearest(routes) is None
    assert book.unpriced(routes) == "mock/mock-2"


async def test_the_dearest_route_sets_the_worst_case(book: PriceBook) -> None:
    routes = [("mock", "mock-1"), ("openrouter", "openai/gpt-4o-mini")]
    assert book.dearest(routes) == Price(Decimal(1), Decimal(2))
    assert book.unpriced(routes) == ""


@pytest.mark.parametrize("listed", [None, ("-1", "-1"), ("free", "0")])
async def test_a_model_listed_without_a_valid_price_stays_unpriced(
    config: SimulatorConfig, providers: dict[str, Provider], listed: tuple[str, str] | None
) -> None:
    config.pricing = listed
    book = PriceBook(PricingSettings(), providers)
    assert await book.refresh() is False
    assert book.price("openrouter", "openai/gpt-4o-mini") is None


async def test_prices_that_cannot_be_read_again_are_kept(
    openrouter: OpenAICompatSimulator, book: PriceBook
) -> None:
    openrouter.stop()
    with records_of("quart_llm.pricing", level=logging.WARNING) as logs:
        assert await book.refresh() is True
    assert book.price("openrouter", "openai/gpt-4o-mini") == Price(Decimal(1), Decimal(2))
    assert "prices of provider openrouter not read" in logs.records[0].getMessage()


class Broken(MockProvider):
    async def published_prices(self) -> dict[str, Price]:
        raise RuntimeError("a bug, not an upstream failure")


async def test_a_provider_that_breaks_is_logged_and_the_others_are_read(
    providers: dict[str, Provider],
) -> None:
    broken = Broken("broken", providers["mock"].settings)
    book = PriceBook(PricingSettings(), {**providers, "broken": broken})
    with records_of("quart_llm.pricing", level=logging.ERROR) as logs:
        assert await book.refresh() is True
    assert book.price("openrouter", "openai/gpt-4o-mini") == Price(Decimal(1), Decimal(2))
    assert logs.records[0].exc_info is not None
