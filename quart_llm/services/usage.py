"""The usage report of a key: its requests and tokens in the current windows and in total,
and its limits, the same from every replica."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from quart_llm.quotas.service import QuotaService
from quart_llm.quotas.stores.usage_counts import UsageCounters


async def usage_report(quotas: QuotaService, key_id: str) -> dict[str, Any]:
    """The `GET /v1/usage` body for `key_id` (503 when the quota store is unreachable)."""
    report = await quotas.usage(key_id)
    policy = quotas.policy(key_id)
    return {
        "object": "usage",
        "key_id": key_id,
        "windows": [
            {
                "period_seconds": window.period_seconds,
                "start": window.window_start,
                "end": window.window_start + window.period_seconds,
                **_counters(window.counters),
            }
            for window in report.windows
        ],
        "total": _counters(report.total),
        "limits": {
            "requests": [asdict(limit) for limit in policy.requests],
            "tokens": [asdict(limit) for limit in policy.tokens],
            "concurrent_streams": policy.concurrent_streams,
        },
        "generated_at": int(time.time()),
    }


def _counters(counters: UsageCounters) -> dict[str, Any]:
    return {
        "requests": counters.requests,
        "prompt_tokens": counters.prompt_tokens,
        "completion_tokens": counters.completion_tokens,
        "total_tokens": counters.prompt_tokens + counters.completion_tokens,
        "estimated_requests": counters.estimated_requests,
        "by_model": {model: _counters(inner) for model, inner in sorted(counters.by_model.items())},
    }
