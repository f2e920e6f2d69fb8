"""Rate-limit headers: the IETF RateLimit fields for request limits, OpenAI-style
`X-RateLimit-*-Tokens` for token budgets, and the 429 that names the limit it hit."""

from __future__ import annotations

import math

from quart_llm.errors import RateLimited
from quart_llm.quotas.stores.base import Decision, LimitState


def tightest(decision: Decision) -> LimitState | None:
    """The limit with the least allowance left (the one a client should watch)."""
    if not decision.states:
        return None
    return min(decision.states, key=lambda state: (state.remaining, -state.reset_seconds))


def request_limit_headers(state: LimitState) -> dict[str, str]:
    """The IETF RateLimit headers of a request limit."""
    return {
        "RateLimit-Limit": str(state.limit.count),
        "RateLimit-Remaining": str(max(state.remaining, 0)),
        "RateLimit-Reset": str(math.ceil(state.reset_seconds)),
        "RateLimit-Policy": f"{state.limit.count};w={state.limit.period_seconds}",
    }


def token_limit_headers(state: LimitState) -> dict[str, str]:
    """OpenAI's `X-RateLimit-*-Tokens` headers of a token budget."""
    return {
        "X-RateLimit-Limit-Tokens": str(state.limit.count),
        "X-RateLimit-Remaining-Tokens": str(max(state.remaining, 0)),
        "X-RateLimit-Reset-Tokens": f"{math.ceil(state.reset_seconds)}s",
    }


def retry_after(seconds: float) -> str:
    """`Retry-After` for a wait of `seconds`: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


def requests_refused(decision: Decision) -> RateLimited:
    """The 429 for a request limit, naming it."""
    limit = decision.refused_by
    state = next((s for s in decision.states if s.limit == limit), None)
    headers = {"Retry-After": retry_after(decision.retry_after_seconds)}
    if state is not None:
        headers.update(request_limit_headers(state))
    described = f"{limit.count} requests per {limit.period_seconds} s" if limit else "requests"
    return RateLimited(
        f"Rate limit reached for this API key: {described}. "
        f"Retry after {headers['Retry-After']} s.",
        code="requests_limit_exceeded",
        headers=headers,
    )


def tokens_refused(decision: Decision, needed: int) -> RateLimited:
    """The 429 for a token budget, naming it and what the request reserved."""
    limit = decision.refused_by
    state = next((s for s in decision.states if s.limit == limit), None)
    headers = {"Retry-After": retry_after(decision.retry_after_seconds)}
    if state is not None:
        headers.update(request_limit_headers(state))
        headers.update(token_limit_headers(state))
    described = f"{limit.count} tokens per {limit.period_seconds} s" if limit else "tokens"
    remaining = state.remaining if state is not None else 0
    return RateLimited(
        f"Token budget reached for this API key: {described}. This request reserves {needed} "
        f"tokens (prompt estimate plus max_tokens) and {remaining} remain. "
        f"Retry after {headers['Retry-After']} s, or ask for fewer max_tokens.",
        code="tokens_limit_exceeded",
        param="max_tokens",
        headers=headers,
    )


def failed_authentications_refused(decision: Decision) -> RateLimited:
    """The 429 for a client address whose authentications failed too often."""
    wait = retry_after(decision.retry_after_seconds)
    return RateLimited(
        f"Too many failed authentications from this address. Retry after {wait} s.",
        code="too_many_failed_authentications",
        headers={"Retry-After": wait},
    )


def streams_refused(cap: int) -> RateLimited:
    """The 429 for the cap on requests in flight."""
    return RateLimited(
        f"Concurrency limit reached for this API key: {cap} requests in flight. "
        "Retry when one finishes.",
        code="concurrency_limit_exceeded",
        headers={
            "Retry-After": "1",
            "RateLimit-Limit": str(cap),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "1",
        },
    )
