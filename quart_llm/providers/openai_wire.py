"""Pieces of OpenAI's wire format that whole answers and streams share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart_llm.providers.answers import TokenUsage, token_count
from quart_llm.providers.upstream_errors import error_status

_USAGE_DETAILS = ("prompt_tokens_details", "completion_tokens_details", "cost_details")


def parse_usage(raw: Any) -> TokenUsage | None:
    """OpenAI's `usage` object, with OpenRouter's `cost` and the detail objects kept."""
    if not isinstance(raw, dict):
        return None
    prompt = token_count(raw.get("prompt_tokens"))
    completion = token_count(raw.get("completion_tokens"))
    if prompt is None or completion is None:
        return None
    cost = raw.get("cost")
    if not isinstance(cost, int | float) or isinstance(cost, bool):
        cost = None
    details = {key: raw[key] for key in _USAGE_DETAILS if isinstance(raw.get(key), Mapping)}
    return TokenUsage(
        prompt, completion, cost=None if cost is None else float(cost), details=details
    )


def reported_error(parsed: Mapping[str, Any]) -> tuple[str, int | None] | None:
    """The message and status of an `error` member (an answer's or a choice's), if any: its
    `code` is the status when it is one."""
    error = parsed.get("error")
    if not error:
        return None
    if isinstance(error, Mapping):
        return str(error.get("message") or "unknown error"), error_status(error.get("code"))
    if isinstance(error, str):
        return error, None
    return "unknown error", None
