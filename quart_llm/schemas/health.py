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
        description="`open` while the provider is skipped: it could not be reached repeatedly."
    )
    models: dict[str, Literal["closed", "open", "half_open"]] = Field(
        default_factory=dict,
        description="The breakers of this provider's models that remember failed answers: "
        "`open` while the model is skipped.",
    )


class HealthReport(BaseModel):
    """`ok` when every configured provider answers, `degraded` otherwise."""

    status: Literal["ok", "degraded"]
    version: str
    providers: dict[str, ProviderHealth]


class Liveness(BaseModel):
    """The process serves."""

    status: Literal["alive"]


class Readiness(BaseModel):
    """The gateway can take traffic: a provider answers and it is not draining."""

    status: Literal["ready"]
