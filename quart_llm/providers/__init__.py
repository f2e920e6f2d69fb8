"""Provider registry: build every enabled provider from settings, one module per kind."""

from __future__ import annotations

from quart_llm.config.models import Settings
from quart_llm.providers.base import Provider
from quart_llm.providers.mock import MockProvider
from quart_llm.providers.ollama import OllamaProvider
from quart_llm.providers.openai_compat import OpenAICompatProvider
from quart_llm.providers.openrouter import OpenRouterProvider
from quart_llm.providers.upstream_text import UpstreamText

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    "mock": MockProvider,
    "ollama": OllamaProvider,
    "openai": OpenAICompatProvider,
    "openrouter": OpenRouterProvider,
}


def build_providers(settings: Settings) -> dict[str, Provider]:
    """One provider for each active entry of `providers`, by name; what any of them says is
    screened for every secret the settings hold."""
    upstream_text = UpstreamText(settings.secrets())
    return {
        name: PROVIDER_CLASSES[provider_settings.kind](name, provider_settings, upstream_text)
        for name, provider_settings in settings.active_providers.items()
    }


__all__ = ["PROVIDER_CLASSES", "Provider", "build_providers"]
