"""`GET /v1/usage`: the calling key's usage and limits, the same from every replica."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from quart import Blueprint, Response
from quart_schema import document_response, tag

from quart_llm.auth import current_principal
from quart_llm.gateway import current_gateway
from quart_llm.openapi import document_errors
from quart_llm.quotas.store import UsageCounters
from quart_llm.responses import json_response
from quart_llm.schemas.usage import UsageResponse


def counters_to_wire(counters: UsageCounters) -> dict[str, Any]:
    return {
        "requests": counters.requests,
        "prompt_tokens": counters.prompt_tokens,
        "completion_tokens": counters.completion_tokens,
        "total_tokens": counters.prompt_tokens + counters.completion_tokens,
        "estimated_requests": counters.estimated_requests,
        "by_model": {
            model: counters_to_wire(inner) for model, inner in sorted(counters.by_model.items())
        },
    }


def create_usage_blueprint() -> Blueprint:
    blueprint = Blueprint("usage", __name__)

    @blueprint.get("/v1/usage")
    @tag(["usage"])
    @document_response(UsageResponse, 200)
    @document_errors(401, 429, 503)
    async def get_usage() -> Response:
        """Report the calling key's usage and limits.

        Requests answered and tokens used in the current window of each period and in total,
        by provider and model. `estimated_requests` counts answers whose token counts are the
        gateway's estimate because the upstream reported none.
        """
        principal = current_principal()
        quotas = current_gateway().quotas
        report = await quotas.usage(principal.key_id)
        policy = quotas.policy(principal.key_id)
        now = int(time.time())
        return json_response(
            {
                "object": "usage",
                "key_id": principal.key_id,
                "windows": [
                    {
                        "period_seconds": window.period_seconds,
                        "start": window.window_start,
                        "end": window.window_start + window.period_seconds,
                        **counters_to_wire(window.counters),
                    }
                    for window in report.windows
                ],
                "total": counters_to_wire(report.total),
                "limits": {
                    "requests": [asdict(limit) for limit in policy.requests],
                    "tokens": [asdict(limit) for limit in policy.tokens],
                    "concurrent_streams": policy.concurrent_streams,
                },
                "generated_at": now,
            }
        )

    return blueprint
