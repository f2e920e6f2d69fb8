from __future__ import annotations

import pytest

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import InvalidRequest
from quart_llm.providers.base import Provider
from quart_llm.providers.mock import MockProvider
from quart_llm.routing.route import resolve_route


@pytest.fixture
def providers() -> dict[str, Provider]:
    return {
        name: MockProvider(name, ProviderSettings(kind="mock"))
        for name in ("ollama", "openrouter", "mock")
    }


@pytest.mark.parametrize(
    ("model", "provider", "expected"),
    [
        ("ollama/llama3.2", None, ("ollama", "llama3.2")),
        (
            "openrouter/meta-llama/llama-3.2-3b-instruct:free",
            None,
            ("openrouter", "meta-llama/llama-3.2-3b-instruct:free"),
        ),
        (
            "meta-llama/llama-3.2-3b-instruct:free",
            None,
            ("mock", "meta-llama/llama-3.2-3b-instruct:free"),
        ),
        ("llama3.2", "ollama", ("ollama", "llama3.2")),
        ("ollama/llama3.2", "ollama", ("ollama", "llama3.2")),
        ("openrouter/auto", "openrouter", ("openrouter", "auto")),
        ("openrouter/openrouter/auto", None, ("openrouter", "openrouter/auto")),
        ("gpt-4o", None, ("mock", "gpt-4o")),
    ],
)
def test_routes(
    providers: dict[str, Provider], model: str, provider: str | None, expected: tuple[str, str]
) -> None:
    route = resolve_route(providers, "mock", model, provider)
    assert (route.provider.name, route.model) == expected
    assert route.public_model == f"{expected[0]}/{expected[1]}"


def test_unknown_provider(providers: dict[str, Provider]) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_route(providers, "mock", "x", "nope")
    assert caught.value.param == "provider"
    assert "mock, ollama, openrouter" in caught.value.message


def test_empty_model_after_prefix(providers: dict[str, Provider]) -> None:
    with pytest.raises(InvalidRequest):
        resolve_route(providers, "mock", "ollama/", None)
