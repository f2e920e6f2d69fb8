"""OpenRouter: the OpenAI-compatible wire plus its own ways.

Attribution headers go to OpenRouter only; `: OPENROUTER PROCESSING` comments are skipped by
the SSE decoder; errors arrive inside 200 bodies and as mid-stream chunks with
`finish_reason: "error"` (both handled by the OpenAI-compatible reader); usage carries `cost`.
"""

from __future__ import annotations

from quart_llm.providers.openai_compat import OpenAICompatProvider


class OpenRouterProvider(OpenAICompatProvider):
    kind = "openrouter"

    def default_headers(self) -> dict[str, str]:
        headers = super().default_headers()
        if self.settings.http_referer:
            headers["HTTP-Referer"] = self.settings.http_referer
        if self.settings.app_title:
            headers["X-OpenRouter-Title"] = self.settings.app_title
            headers["X-Title"] = self.settings.app_title
        return headers
