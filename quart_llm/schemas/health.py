"""The health report of `GET /v1/health`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ProviderHealth(BaseModel):
    kind: str
    reachable: bool
    latency_ms: float
    error: str | None = None
    circuit: Literal["closed", "open", "half_open"] = Field(
        description="`open` while the provider is skipped after repeated failures."
    )


class HealthReport(BaseModel):
    """`ok` when every configured provider answers, `degraded` otherwise."""

    status: Literal["ok", "degraded"]
    version: str
    providers: dict[str, ProviderHealth]
