"""How output is counted against a call's output limit without a tokenizer, and what is charged.

The limit is decided with the token reservation (`quotas/service.py`) and sent upstream; an
upstream that ignores it is still held to it here: the stream is cut in `chat_events`, the
whole answer in `services/chat.py`, both by these rules.

A stream counts its deltas: every delta that carries content, reasoning or a tool call counts
one token. Upstreams send a delta as soon as they have decoded at least one token (OpenAI, vLLM,
llama.cpp, OpenRouter and Ollama all do), so the deltas seen are a lower bound of the tokens
made: an upstream that honours the limit (N tokens, at most N deltas) is never cut, and one
that ignores it is cut at the first delta past the limit. It costs one increment per delta on
the hot path. Characters / 4 would cost as little but is an estimate, not a bound: an answer of
long tokens that kept to its limit would lose its end. The upstream's usage comes only with
the last chunk, too late to stop anything. An upstream that packs many tokens into each delta
is caught by a looser bound on text: more than `CHARS_PER_TOKEN_CEILING` characters per allowed
token, an average no real answer reaches (English averages about 4 characters a token).

A whole answer is counted by the upstream's reported completion tokens, or, when it reports
none, by the same bound on text; an answer over the limit keeps the share of its text that fits
(limit / counted tokens) and ends with `finish_reason: "length"`.

The charge never exceeds what was reserved for the output: an answer cut at the limit is
charged the limit (marked estimated, the upstream's own count never having come), and any
other count over the limit is capped at it.
"""

from __future__ import annotations

from quart_llm.providers.answers import TokenUsage

CHARS_PER_TOKEN_CEILING = 16
FINISH_AT_LIMIT = "length"


def text_over_limit(chars: int, cap: int) -> bool:
    """Whether `chars` characters of output are surely more than `cap` tokens."""
    return chars > cap * CHARS_PER_TOKEN_CEILING


def usage_at_limit(prompt_tokens: int, cap: int) -> TokenUsage:
    """The usage of an answer cut at its limit of `cap` output tokens."""
    return TokenUsage(prompt_tokens, cap, estimated=True)


def capped_usage(usage: TokenUsage, cap: int | None) -> TokenUsage:
    """`usage` with at most `cap` completion tokens (marked estimated when capped; the
    upstream's details of the uncapped count are dropped, its cost kept)."""
    if cap is None or usage.completion_tokens <= cap:
        return usage
    return TokenUsage(usage.prompt_tokens, cap, estimated=True, cost=usage.cost)
