"""The health report of `GET /v1/health`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ProbeFailure = Literal["unreachable", "timeout", "upstream_error", "protocol_error"]


class ProviderHealth(BaseModel):
    kind: str
    reachable: bool
    latency_ms: float
    error: ProbeFailure | None = Field(
        default=None,
        description="Why the probe failed, as a fixed reason: `unreachable` (no connection), "
        "`timeout`, `upstream_error` (an HTTP error status) or `protocol_error` (an answer "
        "that is not the upstream's protocol, a redirect among them). Never the upstream's "
        "own words.",
    )
    circuit: Literal["closed", "open", "half_open"] = Field(
        description="`open` while the provider is skipped after repeated failures."
    )


class HealthReport(BaseModel):
    """`ok` when every configured provider answers, `degraded` otherwise."""

    status: Literal["ok", "degraded"]
    version: str
    providers: dict[str, ProviderHealth]
