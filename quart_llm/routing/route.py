"""Which provider answers a request, and under which upstream model name.

In order: the `provider` field; else a `model` whose first path segment names a configured
provider (`ollama/llama3.2`, `openrouter/meta-llama/llama-3.2-3b-instruct:free`); else the
default provider with the model as given. With an explicit `provider`, a model prefixed with
that same name has the prefix removed once (so ids from /v1/models work either way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from quart_llm.errors import InvalidRequest
from quart_llm.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Route:
    """A provider and the model name it knows."""

    provider: Provider
    model: str

    @property
    def public_model(self) -> str:
        """The model id as the gateway names it: `provider/model`."""
        return f"{self.provider.name}/{self.model}"


def resolve_route(
    providers: Mapping[str, Provider], default_provider: str, model: str, provider: str | None
) -> Route:
    """The route of a request (see the module for the order of the rules)."""
    if provider is not None:
        chosen = providers.get(provider)
        if chosen is None:
            raise InvalidRequest(
                f"Unknown provider {provider!r}; configured providers: "
                + ", ".join(sorted(providers)),
                param="provider",
                code="unknown_provider",
            )
        return Route(chosen, _non_empty(model.removeprefix(f"{provider}/")))
    prefix, slash, rest = model.partition("/")
    if slash and prefix in providers:
        return Route(providers[prefix], _non_empty(rest))
    return Route(providers[default_provider], model)


def _non_empty(model: str) -> str:
    if not model.strip():
        raise InvalidRequest("The model name is empty.", param="model", code="invalid_model")
    return model
