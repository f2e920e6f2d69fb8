"""Typed view of the gateway's settings.

dynaconf does the layering (files, environments, environment variables); these models are the
one place where the merged values are checked and given types, so the rest of the code never
reads a raw mapping. Every model forbids unknown keys: a misspelt setting fails at start-up
instead of being ignored.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)

from quart_llm.config.accounting_models import (
    KeysSettings,
    LimitsSettings,
    PricingSettings,
    UsageSettings,
)
from quart_llm.config.strict_model import StrictModel

PROVIDER_KINDS: tuple[str, ...] = ("ollama", "openrouter", "openai", "mock")
NEEDS_BASE_URL: frozenset[str] = frozenset({"ollama", "openrouter", "openai"})


class ProviderTimeouts(StrictModel):
    """Upstream time limits in seconds, chosen for LLMs: loading a model can take minutes."""

    connect: PositiveFloat = 5.0
    first_byte: PositiveFloat = 120.0
    idle: PositiveFloat = 60.0
    total: PositiveFloat = 600.0


class RetrySettings(StrictModel):
    """Retries before the first byte reaches the client, on connect failures, 429, 502, 503
    and 504; exponential backoff with full jitter; Retry-After honoured up to a bound."""

    attempts: Annotated[int, Field(ge=0, le=10)] = 2
    backoff_initial_seconds: PositiveFloat = 0.2
    backoff_max_seconds: PositiveFloat = 5.0
    max_retry_after_seconds: NonNegativeFloat = 10.0


class CircuitSettings(StrictModel):
    """After `failure_threshold` failures in a row a model of the provider (failed answers) or
    the whole provider (unreachable) is skipped for `cooldown_seconds`; then one trial request
    decides whether it closes again. When every route of a request is open, the least recently
    failed one is tried anyway (panic mode), unless `strict`: then the answer is a 503 at once."""

    failure_threshold: PositiveInt = 5
    cooldown_seconds: PositiveFloat = 30.0
    strict: bool = False


class EmbeddingSettings(StrictModel):
    """What a provider embeds: `models` (empty: any model the upstream embeds with) when
    `enabled`; a large input array goes upstream in requests of `batch_size` inputs, at most
    `concurrency` of them at once, and is reassembled in order."""

    enabled: bool = True
    models: list[str] = Field(default_factory=list)
    batch_size: PositiveInt = 128
    concurrency: PositiveInt = 4


class ProviderSettings(StrictModel):
    """One upstream: its kind, where it is, its key, time limits, retries and circuit."""

    kind: str
    enabled: bool = True
    base_url: AnyHttpUrl | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    optional: bool = False
    timeouts: ProviderTimeouts = ProviderTimeouts()
    retry: RetrySettings = RetrySettings()
    circuit: CircuitSettings = CircuitSettings()
    max_connections: PositiveInt | None = None
    """Connections to this upstream at most; None: as many as the requests in flight (bounded
    by `max_inflight`). A request that waits longer than `pool_wait_seconds` for one is
    answered 503 `overloaded`."""
    pool_wait_seconds: PositiveFloat = 0.5
    transport: Literal["aiohttp", "httpx"] = "aiohttp"
    models: list[str] = Field(default_factory=list)
    http_referer: str | None = None
    app_title: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    embeddings: EmbeddingSettings = EmbeddingSettings()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in PROVIDER_KINDS:
            raise ValueError(f"unknown provider kind {kind!r}; expected one of {PROVIDER_KINDS}")
        return kind

    @model_validator(mode="after")
    def _base_url_when_needed(self) -> ProviderSettings:
        if self.kind in NEEDS_BASE_URL and self.base_url is None:
            raise ValueError(f"base_url is required for kind {self.kind!r}")
        return self

    def resolved_api_key(self) -> str | None:
        """The upstream key from `api_key`, else from the variable named by `api_key_env`."""
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        if self.api_key_env:
            return os.environ.get(self.api_key_env) or None
        return None

    @property
    def is_active(self) -> bool:
        """Enabled, and not an optional provider left without its key."""
        return self.enabled and not (self.optional and self.resolved_api_key() is None)


class DeploymentSetting(StrictModel):
    """One deployment of an alias: a `provider/model` and its share of the traffic."""

    target: str = Field(min_length=3, pattern=r"^[^/]+/.+$")
    weight: PositiveInt = 1


class AliasSettings(StrictModel):
    """A model name clients use, served by several deployments. `strategy` picks one for each
    request (`weighted`: smooth weighted round robin; `least_in_flight`; `lowest_latency`:
    the lowest recent time to answer); the others follow it as failovers."""

    strategy: Literal["weighted", "least_in_flight", "lowest_latency"] = "weighted"
    deployments: list[DeploymentSetting] = Field(min_length=1)


class SSESettings(StrictModel):
    """Server-Sent Events: the keep-alive interval (and the first-chunk window)."""

    keepalive_seconds: PositiveFloat = 15.0


class HTTP2Settings(StrictModel):
    """HTTP/2 abuse limits per connection, against rapid reset (CVE-2023-44487): a client may
    cancel `reset_burst` unfinished streams at once and `resets_per_second` on average; past
    that its connection gets GOAWAY (ENHANCE_YOUR_CALM) and is closed."""

    resets_per_second: PositiveFloat = 10.0
    reset_burst: PositiveInt = 100


class HealthSettings(StrictModel):
    """`/v1/health`: how long a probe may take, how long its answer is kept."""

    probe_timeout_seconds: PositiveFloat = 2.0
    cache_seconds: NonNegativeFloat = 5.0


class ModelsSettings(StrictModel):
    """`/v1/models`: how long the merged model list is kept."""

    cache_seconds: NonNegativeFloat = 30.0


class LoggingSettings(StrictModel):
    """Log level, and JSON lines or readable console lines."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["json", "console"] = "json"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, level: Any) -> Any:
        return level.upper() if isinstance(level, str) else level


class TracingSettings(StrictModel):
    """OpenTelemetry traces, off unless `enabled` or the standard `OTEL_*` variables ask for
    them (`observability/tracing` decides). `exporter` "none" still makes spans: trace ids in
    log lines and `traceparent` sent upstream, with nothing exported."""

    enabled: bool = False
    exporter: Literal["otlp", "console", "none"] = "otlp"
    endpoint: AnyHttpUrl | None = None
    """The OTLP/HTTP traces URL (`http://collector:4318/v1/traces`); none: the exporter's
    own `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, or localhost."""
    service_name: str = Field(default="quart-llm", min_length=1)
    """`service.name`, unless `OTEL_SERVICE_NAME` names it."""
    sample_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    """Share of new traces kept (a client's sampled flag is followed); `OTEL_TRACES_SAMPLER`
    replaces this."""
    capture_content: bool = False
    """Put prompts and answers on spans (`gen_ai.input.messages`, `gen_ai.output.messages`):
    they may hold personal data, so only when the operator opts in."""


class MetricsSettings(StrictModel):
    """`/metrics` needs `Authorization: Bearer <token>`, or is open when `public` is true."""

    enabled: bool = True
    token: SecretStr | None = None
    public: bool = False


class Settings(StrictModel):
    """Every setting of the gateway, merged from all layers and checked."""

    env: str
    api_keys: list[SecretStr] = Field(default_factory=list)
    admin_keys: list[SecretStr] = Field(default_factory=list)
    """Keys of the admin API (`/admin/v1/*`): never API keys, and API keys never open it."""
    default_provider: str = "mock"
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    redis_url: str = ""
    database_url: str = ""
    """Where keys and usage records are kept (SQLAlchemy URL); empty: the embedded SQLite
    file in `data/` under the working directory; `sqlite://`: in memory (gone at exit)."""
    redis_key_prefix: str = Field(default="quart_llm", min_length=1, pattern=r"^[A-Za-z0-9_.:\-]+$")
    max_body_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024
    cors_origins: list[str] = Field(default_factory=list)
    trusted_proxy_hops: Annotated[int, Field(ge=0)] = 0
    shutdown_grace_seconds: NonNegativeFloat = 30.0
    max_inflight: PositiveInt = 4096
    """Chat requests (whole or streamed) one process carries at once; past it a request is
    answered 503 `overloaded` at once. About 55 KiB each while idle (bench/)."""
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    aliases: dict[str, AliasSettings] = Field(default_factory=dict)
    sse: SSESettings = SSESettings()
    http2: HTTP2Settings = HTTP2Settings()
    health: HealthSettings = HealthSettings()
    models: ModelsSettings = ModelsSettings()
    keys: KeysSettings = KeysSettings()
    logging: LoggingSettings = LoggingSettings()
    limits: LimitsSettings = LimitsSettings()
    pricing: PricingSettings = PricingSettings()
    metrics: MetricsSettings = MetricsSettings()
    tracing: TracingSettings = TracingSettings()
    usage: UsageSettings = UsageSettings()

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str) -> str:
        if url and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("malformed URL: expected redis://, rediss:// or unix://")
        return url

    @property
    def active_providers(self) -> dict[str, ProviderSettings]:
        """The providers that are enabled and usable, by name."""
        return {name: p for name, p in self.providers.items() if p.is_active}

    def secrets(self) -> list[str]:
        """Every secret these settings hold: the gateway's API and admin keys (as stored), each
        provider's upstream key (enabled or not), the metrics token and the Redis and
        database passwords.
        What an upstream says is screened for all of them before anyone may see it."""
        found = [key.get_secret_value() for key in (*self.api_keys, *self.admin_keys)]
        found += [p.resolved_api_key() or "" for p in self.providers.values()]
        if self.metrics.token is not None:
            found.append(self.metrics.token.get_secret_value())
        found.append(urlsplit(self.redis_url).password or "")
        found.append(urlsplit(self.database_url).password or "")
        return [secret for secret in found if secret]
