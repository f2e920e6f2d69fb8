"""The gateway's Prometheus metrics, in a registry of its own per app (never the global one).

Every label is bounded: routes are URL rules, providers are configured names, models go
through `ModelLabels`, error kinds and limits are fixed words. Nothing secret is a label.
Histograms observed per request or per streamed event are `LoopHistogram`s (no lock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from quart_llm.observability.labels import ModelLabels
from quart_llm.observability.loop_histogram import LoopHistogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
GAP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LIMIT_CODES = {
    "requests_limit_exceeded": "requests",
    "tokens_limit_exceeded": "tokens",
    "usd_limit_exceeded": "usd",
    "concurrency_limit_exceeded": "concurrency",
    "too_many_failed_authentications": "failed_authentications",
}


def _upstream_error_kind(error: UpstreamError) -> str:
    if error.code == "upstream_circuit_open":
        return "circuit_open"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamConnectError):
        return "connect"
    if isinstance(error, UpstreamStatusError):
        if error.upstream_status == 429:
            return "rate_limited"
        return "status_4xx" if error.upstream_status < 500 else "status_5xx"
    if isinstance(error, UpstreamProtocolError):
        return "stream_error" if error.code == "upstream_stream_error" else "protocol"
    return "other"


def _child(
    counter: Counter, children: dict[tuple[str, ...], Counter], labels: tuple[str, ...]
) -> Counter:
    """The counter's child for these labels, looked up once: prometheus_client validates the
    labels and takes a lock on every `labels()` call. As bounded as the labels themselves."""
    child = children.get(labels)
    if child is None:
        child = children[labels] = counter.labels(*labels)
    return child


class GatewayMetrics:
    """Every metric of one app, in its own registry."""

    def __init__(self, models: ModelLabels) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.models = models
        self._request_children: dict[tuple[str, ...], Counter] = {}
        self._token_children: dict[tuple[str, ...], Counter] = {}
        self._cost_children: dict[tuple[str, ...], Counter] = {}
        self._unpriced_children: dict[tuple[str, ...], Counter] = {}
        self._define_request_metrics()
        self._define_upstream_metrics()

    def _define_request_metrics(self) -> None:
        counter = partial(Counter, registry=self.registry)
        histogram = partial(LoopHistogram, registry=self.registry)
        self.requests = counter(
            "quart_llm_requests",
            "Requests answered.",
            ["route", "method", "status", "provider", "model"],
        )
        self.duration = histogram(
            "quart_llm_request_duration_seconds",
            "Time from request to the end of the answer.",
            ["route", "provider"],
            buckets=LATENCY_BUCKETS,
        )
        self.time_to_first_token = histogram(
            "quart_llm_time_to_first_token_seconds",
            "Time from request to the first chunk.",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
        )
        self.overhead = histogram(
            "quart_llm_gateway_overhead_seconds",
            "Time spent in the gateway itself, upstream waiting excluded.",
            ["route"],
            buckets=OVERHEAD_BUCKETS,
        )
        self.rate_limited = counter(
            "quart_llm_rate_limited", "Requests refused by a quota.", ["limit"]
        )
        self.quota_store_failures = counter(
            "quart_llm_quota_store_failures", "Quota store calls that failed (Redis down)."
        )
        self.key_refresh_failures = counter(
            "quart_llm_key_refresh_failures",
            "Refreshes of the keys held in memory that failed (the last snapshot is kept).",
        )
        self.usage_records = counter(
            "quart_llm_usage_records",
            "Usage records by what became of them: written (to the database), spilled (to the "
            "spill file while it was down), replayed (from that file), dropped (lost).",
            ["result"],
        )

    def _define_upstream_metrics(self) -> None:
        counter = partial(Counter, registry=self.registry)
        histogram = partial(LoopHistogram, registry=self.registry)
        self.chunk_gap = histogram(
            "quart_llm_chunk_gap_seconds",
            "Time between chunks of a stream.",
            ["provider"],
            buckets=GAP_BUCKETS,
        )
        self.tokens = counter(
            "quart_llm_tokens",
            "Tokens used, as reported upstream or estimated.",
            ["provider", "model", "direction"],
        )
        self.cost = counter(
            "quart_llm_cost_usd",
            "USD spent on answers whose cost is known (services/pricing).",
            ["provider", "model"],
        )
        self.unpriced = counter(
            "quart_llm_unpriced_answers",
            "Answers whose cost is unknown (no reported cost, no price).",
            ["provider", "model"],
        )
        self.upstream_errors = counter(
            "quart_llm_upstream_errors",
            "Upstream failures, retried ones included.",
            ["provider", "kind"],
        )
        self.retries = counter(
            "quart_llm_upstream_retries", "Retries before the first byte.", ["provider"]
        )
        self.circuit_panics = counter(
            "quart_llm_circuit_panics",
            "Requests tried although every route was held open (panic mode).",
            ["provider"],
        )
        self.fallbacks = counter(
            "quart_llm_fallbacks",
            "Answers served by a fallback.",
            ["from_provider", "to_provider"],
        )
        self.open_streams = Gauge(
            "quart_llm_open_streams",
            "Streams being answered now.",
            ["provider"],
            registry=self.registry,
        )

    def counted_request(
        self, route: str, method: str, status: str, provider: str, model: str
    ) -> Counter:
        """The request counter for these labels."""
        return _child(
            self.requests, self._request_children, (route, method, status, provider, model)
        )

    def counted_tokens(self, provider: str, model: str, direction: str) -> Counter:
        """The token counter for these labels (`direction`: prompt or completion)."""
        return _child(self.tokens, self._token_children, (provider, model, direction))

    def counted_cost(self, provider: str, model: str, usd: float | None) -> None:
        """Count an answer's cost (`usd`), or the answer as unpriced when it is None."""
        if usd is None:
            _child(self.unpriced, self._unpriced_children, (provider, model)).inc()
        else:
            _child(self.cost, self._cost_children, (provider, model)).inc(usd)

    def model_label(self, provider: str, model: str) -> str:
        """The bounded model label of an answer (empty when no provider answered)."""
        return self.models.label(provider, model) if provider else ""

    def upstream_error(self, error: UpstreamError) -> None:
        """Count one upstream failure by provider and kind."""
        self.upstream_errors.labels(error.provider, _upstream_error_kind(error)).inc()

    def watch_circuits(self, states: Callable[[], Iterable[tuple[str, str, str]]]) -> None:
        """Expose the breakers `states()` lists (provider, model or "" for the provider's own,
        state) as `quart_llm_circuit_state`, read when scraped."""
        self.registry.register(_CircuitStates(states, self.models))

    def exposition(self) -> bytes:
        """Every metric in Prometheus text format."""
        return generate_latest(self.registry)


class _CircuitStates(Collector):
    """Each breaker's state as a 1 on its (provider, model, state) series, read at scrape time:
    the breakers change on every request, the scrape is rare."""

    def __init__(
        self, states: Callable[[], Iterable[tuple[str, str, str]]], models: ModelLabels
    ) -> None:
        self._states = states
        self._models = models

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for provider, model, state in self._states():
            label = self._models.label(provider, model) if model else ""
            family.add_metric([provider, label, state], 1.0)
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "quart_llm_circuit_state",
            'Breakers by provider and model ("": the provider\'s own) and state; models only '
            "while their breaker remembers failures.",
            labels=["provider", "model", "state"],
        )
