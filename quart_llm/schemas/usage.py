"""The usage report of `GET /v1/usage`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class UsageCountersOut(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    estimated_requests: int
    by_model: dict[str, UsageCountersOut]


class UsageWindow(UsageCountersOut):
    period_seconds: int
    start: int
    end: int


class LimitOut(BaseModel):
    count: int
    period_seconds: int


class LimitsOut(BaseModel):
    requests: list[LimitOut]
    tokens: list[LimitOut]
    concurrent_streams: int


class UsageResponse(BaseModel):
    """The calling key's usage in its current windows and in total, and its limits."""

    object: Literal["usage"]
    key_id: str
    windows: list[UsageWindow]
    total: UsageCountersOut
    limits: LimitsOut
    generated_at: int
