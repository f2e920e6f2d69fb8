"""Bounded label values: a metric label never carries a key or a free-form client value.

Models are labelled by name only when configured or among the first `cap` seen per provider
(names the upstream accepted); any other model counts under `other`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

OTHER = "other"
DEFAULT_MODEL_CAP = 50


class ModelLabels:
    """The model label of each provider's answers, bounded to `cap` names."""

    def __init__(
        self, configured: Mapping[str, Iterable[str]], cap: int = DEFAULT_MODEL_CAP
    ) -> None:
        self._known = {provider: set(models) for provider, models in configured.items()}
        self._cap = cap

    def label(self, provider: str, model: str) -> str:
        """`model` as a label: known or among the first `cap` seen, else `other`."""
        known = self._known.setdefault(provider, set())
        if model in known:
            return model
        if len(known) < self._cap:
            known.add(model)
            return model
        return OTHER
