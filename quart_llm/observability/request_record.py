"""One record per request, filled in as it goes, finished exactly once: then it becomes one
log line, its metrics and (when tracing) the end of its spans. The web layer creates and
finishes it; what serves the request notes what it learns. Streams finish when they end, not
when the response starts, so their line has time to first token, tokens and outcome.

The line's fields are named as the OpenTelemetry semantic conventions name them (`http.*`,
`url.path`, `gen_ai.*`, `error.type`), the gateway's own under `quart_llm.`; durations are
milliseconds, named `_ms`; a field that does not apply is left out (README: Log schema)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from quart_llm.observability.metrics import LIMIT_CODES, GatewayMetrics
from quart_llm.observability.request_trace import RequestTrace
from quart_llm.providers.answers import TokenUsage

logger = logging.getLogger("quart_llm.access")


@dataclass(slots=True)
class RequestRecord:
    """What is known of one request; times are `time.perf_counter()` readings."""

    request_id: str
    method: str
    route: str
    """The URL rule (`/v1/chat/completions`), or `unmatched`: a bounded metric label."""
    started: float
    path: str = ""
    """The path the client asked for (no query string); client-controlled, like the two below:
    every log format escapes them."""
    client: str | None = None
    user_agent: str | None = None
    http_version: str = ""
    key_id: str | None = None
    operation: str = ""
    """The GenAI operation served (`chat`), once known."""
    requested_model: str = ""
    """The model as the client named it (perhaps an alias)."""
    provider: str = ""
    model: str = ""
    """The model the upstream is asked for: the planned route's, then the answering one's."""
    status: int = 0
    error_code: str | None = None
    streamed: bool = False
    upstream_started: float | None = None
    """When the first upstream attempt began (the gateway's set-up ends there)."""
    upstream_seconds: float = 0.0
    """Time spent waiting for a whole answer, retries and fallbacks included."""
    first_chunk_at: float | None = None
    usage: TokenUsage | None = None
    cost_usd: float | None = None
    """What the request cost in USD (`services/pricing`): None while unknown, never a made-up
    0."""
    output_cut: bool = False
    """The upstream went past the output limit; the answer was cut there."""
    retries: int = 0
    fallbacks: int = 0
    outcome: str | None = None
    """How a stream ended (`ok`, `upstream_error`, ...); otherwise it follows from `status`."""
    gateway_seconds: float | None = None
    """The gateway's own time, once measured (upstream waiting excluded)."""
    trace: RequestTrace | None = None
    """The request's spans, when tracing is on."""
    finished: bool = False

    @property
    def final_outcome(self) -> str:
        """How the request ended: its stream's outcome, else what its status says."""
        return self.outcome or _outcome_of(self.status)

    def overhead_seconds(self, until: float) -> float:
        """Gateway time: everything but waiting for the upstream (whole answers)."""
        return max(0.0, until - self.started - self.upstream_seconds)

    def finish(self, metrics: GatewayMetrics, ended: float | None = None) -> None:
        """Count the request in the metrics and write its log line (once; later calls do
        nothing). The gateway's own time is `gateway_seconds` when the request measured it,
        else everything but the upstream's time."""
        if self.finished:
            return
        self.finished = True
        ended = ended if ended is not None else time.perf_counter()
        duration = ended - self.started
        overhead = self.gateway_seconds
        if overhead is None:
            overhead = self.overhead_seconds(ended)
        ttft = None if self.first_chunk_at is None else self.first_chunk_at - self.started
        self._observe(metrics, duration, overhead, ttft)
        if logger.isEnabledFor(logging.INFO):
            self._log(duration, overhead, ttft)
        if self.trace is not None:
            self.trace.end(self)

    def _observe(
        self, metrics: GatewayMetrics, duration: float, overhead: float, ttft: float | None
    ) -> None:
        model = metrics.model_label(self.provider, self.model)
        metrics.counted_request(
            self.route, self.method, str(self.status), self.provider, model
        ).inc()
        metrics.duration.labels(self.route, self.provider).observe(duration)
        metrics.overhead.labels(self.route).observe(overhead)
        if self.status == 429 and self.error_code in LIMIT_CODES:
            metrics.rate_limited.labels(LIMIT_CODES[self.error_code]).inc()
        if ttft is not None:
            metrics.time_to_first_token.labels(self.provider, model).observe(ttft)
        if self.usage is not None and self.provider:
            metrics.counted_tokens(self.provider, model, "prompt").inc(self.usage.prompt_tokens)
            metrics.counted_tokens(self.provider, model, "completion").inc(
                self.usage.completion_tokens
            )
            metrics.counted_cost(self.provider, model, self.cost_usd)

    def _log(self, duration: float, overhead: float, ttft: float | None) -> None:
        outcome = self.final_outcome
        usage = self.usage
        fields: dict[str, Any] = {
            "event_name": "quart_llm.request",
            "quart_llm.request_id": self.request_id,
            "http.request.method": self.method,
            "url.path": self.path,
            "http.route": self.route,
            "http.response.status_code": self.status,
            "network.protocol.version": self.http_version,
            "client.address": self.client,
            "user_agent.original": self.user_agent,
            "quart_llm.key_id": self.key_id,
            "quart_llm.outcome": outcome,
            "error.type": self.error_code,
            "gen_ai.operation.name": self.operation,
            "gen_ai.request.model": self.requested_model,
            "gen_ai.provider.name": self.provider,
            "gen_ai.response.model": self.model if 0 < self.status < 400 else None,
            "quart_llm.streamed": self.streamed,
            "quart_llm.duration_ms": round(duration * 1000, 3),
            "quart_llm.time_to_first_chunk_ms": None if ttft is None else round(ttft * 1000, 3),
            "quart_llm.overhead_ms": round(overhead * 1000, 3),
            "gen_ai.usage.input_tokens": usage.prompt_tokens if usage else None,
            "gen_ai.usage.output_tokens": usage.completion_tokens if usage else None,
            "quart_llm.usage.estimated": usage.estimated if usage else None,
            "quart_llm.cost_usd": self.cost_usd,
            "quart_llm.output_cut": self.output_cut or None,
            "quart_llm.retries": self.retries or None,
            "quart_llm.fallbacks": self.fallbacks or None,
        }
        if self.trace is not None:
            context = self.trace.server.get_span_context()
            fields["trace_id"] = format(context.trace_id, "032x")
            fields["span_id"] = format(context.span_id, "016x")
        extra = {key: value for key, value in fields.items() if value not in (None, "")}
        logger.info("%s %s %d %s", self.method, self.route, self.status, outcome, extra=extra)


def _outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status < 500:
        return "client_error"
    return "error"
