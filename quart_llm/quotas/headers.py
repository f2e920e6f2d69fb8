"""Rate-limit headers, and the 429 that names the limit it hit.

Two forms of the IETF fields go out together. The current draft's (draft-ietf-httpapi-
ratelimit-headers-10 and later): `RateLimit-Policy`, a list of every policy of the key
(`"requests-60";q=600;w=60`; token budgets with `qu="tokens"`), and `RateLimit`, the policy
with the least left (`"requests-60";r=599;t=1`). And the earlier drafts' trio that deployed
clients read (`RateLimit-Limit`, `-Remaining`, `-Reset`), for that same policy; the earlier
`RateLimit-Policy` syntax is the one field not kept, its name now being the current draft's.
Token budgets also carry OpenAI's `X-RateLimit-*-Tokens`, which its SDK users read. USD
budgets are policies in micro-dollars (`"usd-micros-86400";q=5000000;w=86400;qu="usd-micros"`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from quart_llm.errors import GatewayError, RateLimited
from quart_llm.lib.prices import usd_of_micros
from quart_llm.quotas.stores.base import Decision, LimitState, WindowLimit


def tightest(states: Sequence[LimitState]) -> LimitState | None:
    """The limit with the least allowance left (the one a client should watch)."""
    if not states:
        return None
    return min(states, key=lambda state: (state.remaining, -state.reset_seconds))


def request_limit_headers(states: Sequence[LimitState], unit: str = "requests") -> dict[str, str]:
    """The IETF RateLimit fields of these limits (all of one unit), both drafts' forms; the
    current state is the limit with the least left."""
    current = tightest(states)
    if current is None:
        return {}
    quota_unit = "" if unit == "requests" else f';qu="{unit}"'
    remaining = max(current.remaining, 0)
    reset = math.ceil(current.reset_seconds)
    return {
        "RateLimit-Policy": ", ".join(
            f'"{_name(unit, s.limit)}";q={s.limit.count};w={s.limit.period_seconds}{quota_unit}'
            for s in states
        ),
        "RateLimit": f'"{_name(unit, current.limit)}";r={remaining};t={reset}',
        "RateLimit-Limit": str(current.limit.count),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(reset),
    }


def _name(unit: str, limit: WindowLimit) -> str:
    return f"{unit}-{limit.period_seconds}"


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
    headers = {"Retry-After": retry_after(decision.retry_after_seconds)}
    if decision.states:
        headers.update(request_limit_headers(decision.states))
    described = f"{limit.count} requests per {limit.period_seconds} s" if limit else "requests"
    return RateLimited(
        f"Rate limit reached for this API key: {described}. "
        f"Retry after {headers['Retry-After']} s.",
        code="requests_limit_exceeded",
        headers=headers,
    )


def _budget_refusal(
    decision: Decision, unit: str
) -> tuple[WindowLimit | None, LimitState | None, dict[str, str]]:
    """What a budget's 429 says: the limit that refused, its state, and the headers of both."""
    limit = decision.refused_by
    state = next((s for s in decision.states if s.limit == limit), None)
    headers = {"Retry-After": retry_after(decision.retry_after_seconds)}
    if state is not None:
        headers.update(request_limit_headers([state], unit=unit))
    return limit, state, headers


def tokens_refused(decision: Decision, needed: int) -> RateLimited:
    """The 429 for a token budget, naming it and what the request reserved."""
    limit, state, headers = _budget_refusal(decision, "tokens")
    if state is not None:
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


def usd_refused(decision: Decision, needed_micros: int) -> RateLimited:
    """The 429 for a USD budget, naming it and what the request reserved."""
    limit, state, headers = _budget_refusal(decision, USD_UNIT)
    described = f"{_usd(limit.count)} per {limit.period_seconds} s" if limit else "USD"
    remaining = _usd(state.remaining if state is not None else 0)
    return RateLimited(
        f"USD budget reached for this API key: {described}. This request reserves "
        f"{_usd(needed_micros)} (prompt estimate at the input price plus max_tokens at the "
        f"output price) and {remaining} remain. Retry after {headers['Retry-After']} s, or ask "
        "for fewer max_tokens.",
        code="usd_limit_exceeded",
        param="max_tokens",
        headers=headers,
    )


USD_UNIT = "usd-micros"


def _usd(micros: int) -> str:
    return f"${usd_of_micros(micros):f}"


def unpriced_refused(model: str) -> GatewayError:
    """The 403 for a model without a known price, asked for under a USD budget."""
    return GatewayError(
        f"This API key has a USD budget, and no price is known for {model or 'this model'}: "
        "its cost could not be counted. Ask for a priced model, or ask the operator to price "
        "this one.",
        status=403,
        error_type="permission_error",
        code="model_not_priced",
        param="model",
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
            "RateLimit-Policy": f'"concurrency";q={cap};qu="concurrent-requests"',
            "RateLimit": '"concurrency";r=0;t=1',
            "RateLimit-Limit": str(cap),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "1",
        },
    )
