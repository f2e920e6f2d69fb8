"""The operators' status report of `GET /admin/v1/status`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class QuotaStoreState(BaseModel):
    kind: Literal["memory", "redis"] = Field(
        description="`redis` when quotas are shared through Redis, `memory` for this process."
    )
    reachable: bool = Field(description="Whether the store answered just now (a PING).")
    on_failure: Literal["open", "closed"] = Field(
        description="What happens while it does not: `open` lets requests through uncounted, "
        "`closed` refuses them."
    )
    failures: int = Field(description="Store calls that failed since the process started.")


class DeploymentState(BaseModel):
    provider: str
    model: str
    weight: int
    in_flight_requests: int
    latency_ms: float | None = Field(
        description="Moving average of the time to answer (first chunk for streams); null "
        "until measured."
    )


class AliasDeployments(BaseModel):
    strategy: Literal["weighted", "least_in_flight", "lowest_latency"]
    deployments: list[DeploymentState]


class GatewayStatus(BaseModel):
    """How busy this gateway process is, and with what."""

    object: Literal["gateway_status"]
    version: str
    draining: bool = Field(description="True while the process shuts down gracefully.")
    in_flight_requests: int = Field(description="Chat requests being answered now.")
    max_in_flight_requests: int = Field(description="The limit past which requests get 503.")
    open_streams: dict[str, int] = Field(description="Streams being answered now, by provider.")
    quota_store: QuotaStoreState
    deployments: dict[str, AliasDeployments] = Field(
        description="Each alias served by several deployments, with their state."
    )
