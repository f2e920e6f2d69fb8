"""Delays between retries: exponential with full jitter, or the upstream's Retry-After."""

from __future__ import annotations

import random

from quart_llm.config.models import RetrySettings
from quart_llm.errors import UpstreamError


def retry_delay(
    error: UpstreamError, retry_number: int, settings: RetrySettings, rng: random.Random
) -> float | None:
    """Seconds to wait before retry `retry_number` (0-based), or None if it should not be
    retried (not retryable, or the upstream asks for a longer wait than we allow)."""
    if not error.retryable or retry_number >= settings.attempts:
        return None
    asked = error.retry_after_seconds
    if asked is not None:
        return asked if asked <= settings.max_retry_after_seconds else None
    ceiling = min(settings.backoff_max_seconds, settings.backoff_initial_seconds * 2**retry_number)
    return rng.uniform(0, ceiling)
