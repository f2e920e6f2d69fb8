"""The base of every settings model: unknown keys refused (a misspelt setting fails at
start-up instead of being ignored), values frozen once loaded."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A settings model that forbids unknown keys and is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
