"""The provider interface: what the gateway asks of every upstream.

A provider is built from its settings, `start()`ed when serving starts and `aclose()`d when it
stops. `stream_batches` is an async generator: leaving it early (client gone, deadline hit)
closes the upstream response in its `finally`, so no connection or task outlives the request.
Time limits are the caller's: a whole answer runs under the request's deadline, a stream is
read through the read-ahead, whose watchdog times its first token, gaps and total.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from typing import ClassVar

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import InvalidRequest
from quart_llm.lib.prices import Price
from quart_llm.providers.answers import Completion, EmbeddingInputs, Embeddings, StreamChunk
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.schemas.chat_request import ChatRequest


class Provider(ABC):
    """An upstream that answers chats."""

    kind: ClassVar[str]
    unsupported_fields: ClassVar[frozenset[str]] = frozenset()
    embeds_tokens: ClassVar[bool] = True
    """Whether the upstream embeds token arrays as well as texts."""

    def __init__(
        self, name: str, settings: ProviderSettings, upstream_text: UpstreamText | None = None
    ) -> None:
        """`upstream_text` screens what this upstream says for every configured secret
        (`build_providers` passes one for all); by default, for this provider's own key."""
        self.name = name
        self.settings = settings
        own_key = settings.resolved_api_key()
        self.upstream_text = upstream_text or UpstreamText([own_key] if own_key else [])

    async def start(self) -> None:
        """Open pooled resources; called once when serving starts."""

    async def aclose(self) -> None:
        """Release pooled resources; called once when serving stops."""

    def check_supported(self, request: ChatRequest) -> None:
        """Refuse (400) a request using a feature this upstream lacks, before any I/O."""
        used = sorted(request.fields_set() & self.unsupported_fields)
        if used:
            raise InvalidRequest(
                f"provider {self.name!r} ({self.kind}) does not support "
                + ", ".join(f"`{name}`" for name in used),
                param=used[0],
                code="unsupported_parameter",
            )

    def check_embeddings(self, model: str, *, tokens: bool) -> None:
        """Refuse (400) embeddings this provider cannot make with `model` (token arrays
        when `tokens`), before any I/O: the operator's `embeddings` settings say what it
        embeds."""
        settings = self.settings.embeddings
        refusal = None
        if not settings.enabled:
            refusal = f"provider {self.name!r} does not make embeddings"
        elif settings.models and model not in settings.models:
            refusal = f"model {model!r} of provider {self.name!r} does not make embeddings"
        if refusal is not None:
            raise InvalidRequest(refusal, param="model", code="embeddings_unsupported")
        if tokens and not self.embeds_tokens:
            raise InvalidRequest(
                f"provider {self.name!r} ({self.kind}) embeds only text; send `input` as text",
                param="input",
                code="unsupported_parameter",
            )

    async def embed(
        self, inputs: EmbeddingInputs, model: str, dimensions: int | None, user: str | None = None
    ) -> Embeddings:
        """The vectors of `inputs` (at most the provider's batch size), in their order; `user`
        is the client's end-user id, passed on where the upstream's API takes one."""
        raise InvalidRequest(
            f"provider {self.name!r} ({self.kind}) does not make embeddings",
            param="model",
            code="embeddings_unsupported",
        )

    @abstractmethod
    async def complete(self, request: ChatRequest, model: str) -> Completion:
        """The whole answer to a chat."""

    @abstractmethod
    def stream_batches(self, request: ChatRequest, model: str) -> AsyncGenerator[list[StreamChunk]]:
        """The answer as batches of chunks, never empty: those one upstream read completed.
        Raises an UpstreamError when the upstream fails (after yielding what came before)."""

    @abstractmethod
    async def list_models(self) -> list[str]:
        """The upstream's model names (without the provider prefix)."""

    async def published_prices(self) -> dict[str, Price]:
        """The prices the upstream publishes, by its model names (none unless it does);
        raises an UpstreamError when it cannot be read."""
        return {}

    @abstractmethod
    async def probe(self) -> None:
        """Return when the upstream answers; raise an UpstreamError otherwise."""
