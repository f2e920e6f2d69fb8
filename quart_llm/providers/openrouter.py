"""OpenRouter: the OpenAI-compatible wire plus its own ways.

Attribution headers go to OpenRouter only, made header-safe (non-ASCII titles are
percent-encoded rather than failing start-up); its sampling extras (`top_k`, `min_p`,
`repetition_penalty`) are forwarded. `: OPENROUTER PROCESSING` comments are skipped by the SSE
decoder; errors arrive inside 200 bodies and as mid-stream chunks with a top-level `error` and
`finish_reason: "error"` (both handled by the OpenAI-compatible reader); usage carries `cost`.
Its model list publishes prices (`pricing.prompt` and `pricing.completion`, USD per token as
decimal strings); a model whose price is missing, negative or not a number is left unpriced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from quart_llm.errors import UpstreamProtocolError
from quart_llm.lib.prices import Price
from quart_llm.providers.openai_compat import OpenAICompatProvider

_HEADER_SAFE = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) != "%")


class OpenRouterProvider(OpenAICompatProvider):
    """OpenRouter: OpenAI's wire, its attribution headers and sampling extras."""

    kind = "openrouter"
    unsupported_fields = frozenset()

    def default_headers(self) -> dict[str, str]:
        headers = super().default_headers()
        if self.settings.http_referer:
            headers["HTTP-Referer"] = header_value(self.settings.http_referer)
        if self.settings.app_title:
            title = header_value(self.settings.app_title)
            headers["X-OpenRouter-Title"] = title
            headers["X-Title"] = title
        return headers

    async def published_prices(self) -> dict[str, Price]:
        return parse_prices(self.name, await self._fetch_json("GET", self.models_path))


def parse_prices(provider: str, parsed: Any) -> dict[str, Price]:
    """The prices of OpenRouter's model list, by model id."""
    data = parsed.get("data") if isinstance(parsed, Mapping) else None
    if not isinstance(data, list):
        raise UpstreamProtocolError(provider, "the model list has no `data` array")
    prices: dict[str, Price] = {}
    for item in data:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            continue
        pricing = item.get("pricing")
        if not isinstance(pricing, Mapping):
            continue
        prompt, completion = pricing.get("prompt"), pricing.get("completion")
        if isinstance(prompt, str) and isinstance(completion, str):
            try:
                prices[item["id"]] = Price.per_token(prompt, completion)
            except ValueError:
                continue
    return prices


def header_value(text: str) -> str:
    """`text` as it is when it is printable ASCII, else percent-encoded (UTF-8)."""
    if text.isascii() and text.isprintable():
        return text
    return quote(text, safe=_HEADER_SAFE)
