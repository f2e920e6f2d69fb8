"""Fallback chains from settings: `fallbacks."openrouter/x" = ["ollama/y"]` for one model,
`fallbacks.openrouter = ["ollama"]` for a whole provider (a target without a model keeps the
requested model name), or for an alias (`fallbacks.llama = [...]`). The model's own chain is
tried before its provider's."""

from __future__ import annotations

from collections.abc import Mapping

from quart_llm.providers.base import Provider
from quart_llm.routing.route import Route


def fallback_routes(
    route: Route,
    fallbacks: Mapping[str, list[str]],
    providers: Mapping[str, Provider],
    source: str | None = None,
) -> list[Route]:
    """The fallback routes of `route`, in order, without repeats: those of `source` (the
    model as asked for: `route`'s own, or an alias), then those of its provider."""
    targets = [
        *fallbacks.get(source or route.public_model, []),
        *fallbacks.get(route.provider.name, []),
    ]
    routes: list[Route] = []
    seen = {(route.provider.name, route.model)}
    for target in targets:
        name, slash, model = target.partition("/")
        provider = providers.get(name)
        if provider is None:
            continue
        candidate = Route(provider, model if slash else route.model)
        if (provider.name, candidate.model) not in seen:
            seen.add((provider.name, candidate.model))
            routes.append(candidate)
    return routes
