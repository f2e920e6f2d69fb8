from __future__ import annotations

from quart_llm.config.models import ProviderSettings
from quart_llm.providers.base import Provider
from quart_llm.providers.mock import MockProvider
from quart_llm.routing.fallback import fallback_routes
from quart_llm.routing.route import Route

PROVIDERS: dict[str, Provider] = {
    name: MockProvider(name, ProviderSettings(kind="mock")) for name in ("a", "b", "c")
}


def names(routes: list[Route]) -> list[str]:
    return [route.public_model for route in routes]


def test_model_chain_comes_before_provider_chain_without_repeats() -> None:
    fallbacks = {"a/x": ["b/y", "c"], "a": ["b", "c", "a/x"]}
    routes = fallback_routes(Route(PROVIDERS["a"], "x"), fallbacks, PROVIDERS)
    assert names(routes) == ["b/y", "c/x", "b/x"]


def test_no_chain_means_no_fallback() -> None:
    assert fallback_routes(Route(PROVIDERS["b"], "x"), {"a": ["c"]}, PROVIDERS) == []
