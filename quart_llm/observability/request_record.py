"""One record per request, filled in as it goes, finished exactly once: then it becomes one
log line and its metrics. Streams finish when their last byte is sent, not when the response
starts, so their line has time to first token, tokens and outcome."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from quart import g

from quart_llm.observability.metrics import LIMIT_CODES, GatewayMetrics
from quart_llm.providers.types import Usage

logger = logging.getLogger("quart_llm.access")


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    method: str
    route: str
    started: float
    key_id: str | None = None
    provider: str = ""
    model: str = ""
    status: int = 0
    error_code: str | None = None
    streamed: bool = False
    upstream_started: float | None = None
    upstream_seconds: float = 0.0
    first_chunk_at: float | None = None
    usage: Usage | None = None
    retries: int = 0
    fallbacks: int = 0
    outcome: str | None = None
    gateway_seconds: float | None = None
    finished: bool = False

    def overhead_seconds(self, until: float) -> float:
        """Gateway time: everything but waiting for the upstream (whole answers)."""
        return max(0.0, until - self.started - self.upstream_seconds)

    def finish(self, metrics: GatewayMetrics, ended: float | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        ended = ended if ended is not None else time.perf_counter()
        duration = ended - self.started
        overhead = (
            self.gateway_seconds
            if self.gateway_seconds is not None
            else self.overhead_seconds(ended)
        )
        outcome = self.outcome or _outcome_of(self.status)
        model = metrics.model_label(self.provider, self.model)
        metrics.counted_request(
            self.route, self.method, str(self.status), self.provider, model
        ).inc()
        metrics.duration.labels(self.route, self.provider).observe(duration)
        metrics.overhead.labels(self.route).observe(overhead)
        if self.status == 429 and self.error_code in LIMIT_CODES:
            metrics.rate_limited.labels(LIMIT_CODES[self.error_code]).inc()
        ttft = None
        if self.first_chunk_at is not None:
            ttft = self.first_chunk_at - self.started
            metrics.time_to_first_token.labels(self.provider, model).observe(ttft)
        if self.usage is not None and self.provider:
            metrics.counted_tokens(self.provider, model, "prompt").inc(self.usage.prompt_tokens)
            metrics.counted_tokens(self.provider, model, "completion").inc(
                self.usage.completion_tokens
            )
        if not logger.isEnabledFor(logging.INFO):
            return
        logger.info(
            "%s %s %d %s",
            self.method,
            self.route,
            self.status,
            outcome,
            extra={
                "request_id": self.request_id,
                "key_id": self.key_id,
                "route": self.route,
                "method": self.method,
                "status": self.status,
                "outcome": outcome,
                "provider": self.provider or None,
                "model": self.model or None,
                "streamed": self.streamed,
                "duration_ms": round(duration * 1000, 3),
                "ttft_ms": round(ttft * 1000, 3) if ttft is not None else None,
                "overhead_ms": round(overhead * 1000, 3),
                "prompt_tokens": self.usage.prompt_tokens if self.usage else None,
                "completion_tokens": self.usage.completion_tokens if self.usage else None,
                "tokens_estimated": self.usage.estimated if self.usage else None,
                "retries": self.retries,
                "fallbacks": self.fallbacks,
                "error_code": self.error_code,
            },
        )


def current_record() -> RequestRecord:
    """The record of the request being served (created by the app's first request hook)."""
    record = g.get("record")
    if not isinstance(record, RequestRecord):
        raise RuntimeError("no request record: the app's request hooks are not installed")
    return record


def _outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status < 500:
        return "client_error"
    return "error"
