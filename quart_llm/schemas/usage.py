"""The usage report of `GET /v1/usage`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
    report: UsageReport | None = None
    """The key's stored usage records summed per group: present when `group_by`, `from` or
    `to` is asked for."""


class UsageReportTotal(BaseModel):
    """Sums over the stored usage records of a period (or of one group of them)."""

    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float | None
    """The sum of the known costs; null when no record has a known cost."""
    unpriced_requests: int
    """Records whose cost is unknown (no price for their model)."""
    errors: int
    """Records whose outcome is not `ok`."""


class UsageReportRow(UsageReportTotal):
    group: str | None
    """The key id, model, provider or UTC day (`2026-12-05`); null for records without one."""


class UsageReport(BaseModel):
    """The stored usage records of a period, summed per group (`from` included, `to` not)."""

    object: Literal["usage_report"]
    group_by: Literal["key", "model", "provider", "day"]
    from_: str = Field(alias="from")
    to: str
    rows: list[UsageReportRow]
    total: UsageReportTotal


class UsageReportFormat(BaseModel):
    format: Literal["json", "csv"] | None = None
    """`csv` (or `Accept: text/csv`): the report's rows as CSV (text/csv)."""


class KeyUsageQuery(UsageReportFormat):
    """`GET /v1/usage`: any of these adds the stored report of the calling key."""

    group_by: Literal["day", "model"] | None = None
    from_: str | None = Field(default=None, alias="from")
    """ISO 8601 date or date-time, UTC unless an offset is given (default: 30 days before `to`)."""
    to: str | None = None
    """Excluded; ISO 8601 date or date-time (default: now)."""


class UsageReportQuery(UsageReportFormat):
    """`GET /admin/v1/usage`."""

    group_by: Literal["key", "model", "provider", "day"] = "day"
    from_: str | None = Field(default=None, alias="from")
    """ISO 8601 date or date-time, UTC unless an offset is given (default: 30 days before `to`)."""
    to: str | None = None
    """Excluded; ISO 8601 date or date-time (default: now)."""
    key_id: str | None = None


class UsageRecordsQuery(BaseModel):
    """`GET /admin/v1/requests`."""

    key_id: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class UsageRecordOut(BaseModel):
    """One request's usage record (never its content)."""

    record_id: str
    created_at: str
    request_id: str
    key_id: str | None
    route: str
    provider: str | None
    model: str | None
    alias: str | None
    status: int
    outcome: str
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens_estimated: bool
    cost_usd: float | None
    duration_ms: float
    ttft_ms: float | None
    retries: int
    fallbacks: int
    error_code: str | None


class UsageRecordList(BaseModel):
    """The newest usage records, newest first."""

    object: Literal["list"]
    data: list[UsageRecordOut]


UsageResponse.model_rebuild()
