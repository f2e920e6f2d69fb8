"""Settings of what the gateway counts and charges: quota tiers and their windows (requests,
tokens, USD), keys made at runtime, usage records, and prices. Part of `Settings`
(`config.models`), checked the same way: unknown keys are refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator, model_validator

from quart_llm.config.strict_model import StrictModel


class WindowSetting(StrictModel):
    """At most `count` per `period_seconds`."""

    count: PositiveInt
    period_seconds: PositiveInt


class UsdWindowSetting(StrictModel):
    """At most `amount` USD of cost per `period_seconds` (kept in whole micro-dollars)."""

    amount: Annotated[Decimal, Field(gt=0, decimal_places=6, allow_inf_nan=False)]
    period_seconds: PositiveInt


class TierSettings(StrictModel):
    """The quotas of one tier of keys; an empty list or `concurrent_streams = 0` means none."""

    requests: list[WindowSetting] = Field(
        default_factory=lambda: [
            WindowSetting(count=600, period_seconds=60),
            WindowSetting(count=50_000, period_seconds=86_400),
        ]
    )
    tokens: list[WindowSetting] = Field(default_factory=list)
    usd: list[UsdWindowSetting] = Field(default_factory=list)
    """Cost budgets; a request to a model without a known price is refused under one."""
    concurrent_streams: Annotated[int, Field(ge=0)] = 64
    default_max_tokens: PositiveInt = 1024


class LimitsSettings(StrictModel):
    """Quotas: on or off, the fail-open policy, lease time, usage periods, tiers by key id."""

    enabled: bool = True
    on_store_failure: Literal["open", "closed"] = "open"
    lease_seconds: Annotated[float, Field(ge=3.0)] = 30.0
    usage_periods: list[PositiveInt] = Field(default_factory=lambda: [3600, 86_400])
    failed_authentications: list[WindowSetting] = Field(
        default_factory=lambda: [WindowSetting(count=30, period_seconds=60)]
    )
    """Failed authentications allowed per client address; past them the answer is a 429."""
    default: TierSettings = TierSettings()
    tiers: dict[str, TierSettings] = Field(default_factory=dict)
    keys: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys_name_tiers(self) -> LimitsSettings:
        for key_id, tier in self.keys.items():
            if tier != "default" and tier not in self.tiers:
                raise ValueError(f"key {key_id!r} names tier {tier!r}, which is not configured")
        return self


class KeysSettings(StrictModel):
    """How the keys held in memory follow the database: polled every `poll_seconds` without
    Redis; with Redis, told at once by pub/sub and polled every `safety_poll_seconds` besides;
    reloaded whole every `full_reload_seconds`."""

    poll_seconds: Annotated[float, Field(gt=0.0, le=60.0)] = 0.5
    safety_poll_seconds: Annotated[float, Field(gt=0.0)] = 5.0
    full_reload_seconds: Annotated[float, Field(gt=0.0)] = 60.0


class UsageSettings(StrictModel):
    """How usage records reach the database: in batches, off the request path."""

    flush_seconds: PositiveFloat = 1.0
    """A batch is written at least this often: what a crash (SIGKILL) may lose."""
    batch_size: PositiveInt = 500
    """A batch is written as soon as this many records wait."""
    buffer_records: PositiveInt = 50_000
    """Records held in memory at most; past it a record is dropped (and counted)."""
    spill_path: str = ""
    """The append-only file records go to while the database is down (JSON lines), replayed
    when it answers again; empty: `data/usage_spill.jsonl` under the working directory."""
    write_timeout_seconds: PositiveFloat = 5.0
    """A batch the database has not taken by then is spilled."""


class ModelPriceSettings(StrictModel):
    """A model's price: USD per million input (prompt) and output (completion) tokens."""

    input_per_million: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    output_per_million: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class PricingSettings(StrictModel):
    """What requests cost. `models` prices `provider/model` names (the operator's table wins
    over a provider's published prices, such as OpenRouter's, which are read again every
    `refresh_seconds`); a cost the upstream reports wins over both."""

    models: dict[str, ModelPriceSettings] = Field(default_factory=dict)
    refresh_seconds: Annotated[float, Field(ge=60.0)] = 3600.0

    @field_validator("models")
    @classmethod
    def _provider_model_names(
        cls, models: dict[str, ModelPriceSettings]
    ) -> dict[str, ModelPriceSettings]:
        for name in models:
            provider, _, model = name.partition("/")
            if not provider or not model:
                raise ValueError(f"price for {name!r}: name a model as provider/model")
        return models
