"""The built-in mock: a deterministic model in the gateway's own process.

For trying the API without a model, for client development and for load tests. Its answer
repeats the last user message inside a fixed sentence, one word a token; options set the delay
before the first token and the pace. Two models fail on purpose so clients can exercise their
error handling: `mock-fail-early` fails before any token, `mock-fail-midway` after three.
Its embeddings are deterministic too: the same input gives the same unit vector, in any process
(`mock_vector`), of `dimensions` numbers or `options.embedding_dimensions` (64).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct
from collections.abc import AsyncGenerator
from typing import Any

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.answers import (
    Completion,
    EmbeddingInputs,
    Embeddings,
    StreamChunk,
    TokenUsage,
)
from quart_llm.providers.base import Provider
from quart_llm.providers.token_estimates import estimate_input_tokens, estimate_prompt_tokens
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.schemas.chat_request import ChatRequest

DEFAULT_MODELS = ("mock-1", "mock-fail-early", "mock-fail-midway")
_ECHO_LIMIT = 400
_EMBEDDING_DIMENSIONS = 64
_MAX_EMBEDDING_NUMBERS = 1 << 20
"""Numbers the mock makes for one request at most (inputs times dimensions): its vectors are
built in this process, so their size is bounded like any answer's."""


class MockProvider(Provider):
    """The built-in model: deterministic answers, with a pace and failures on purpose."""

    kind = "mock"
    unsupported_fields = frozenset({"tools", "tool_choice", "logprobs", "top_logprobs", "n"})

    def __init__(
        self, name: str, settings: ProviderSettings, upstream_text: UpstreamText | None = None
    ) -> None:
        super().__init__(name, settings, upstream_text)
        options = settings.options
        self.first_token_delay = float(options.get("first_token_delay_seconds", 0.0))
        tokens_per_second = float(options.get("tokens_per_second", 0.0))
        self.token_interval = 1.0 / tokens_per_second if tokens_per_second > 0 else 0.0
        self.models = tuple(settings.models) or DEFAULT_MODELS
        self.embedding_dimensions = int(options.get("embedding_dimensions", _EMBEDDING_DIMENSIONS))

    async def probe(self) -> None:
        return None

    async def list_models(self) -> list[str]:
        return list(self.models)

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        tokens, finish_reason = self._answer(request, model)
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        if model == "mock-fail-midway":
            raise UpstreamProtocolError(self.name, "mock-fail-midway failed on purpose")
        message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
        return Completion(
            choices=[
                {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
            ],
            usage=TokenUsage(estimate_prompt_tokens(request.messages), len(tokens)),
        )

    async def stream_batches(
        self, request: ChatRequest, model: str
    ) -> AsyncGenerator[list[StreamChunk]]:
        """Tokens paced by `token_interval` come one per batch; without pacing the answer is
        one batch, as a fast upstream's would be after one read."""
        tokens, finish_reason = self._answer(request, model)
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        batch: list[StreamChunk] = []
        for position, token in enumerate(tokens):
            if position and self.token_interval:
                yield batch
                batch = []
                await asyncio.sleep(self.token_interval)
            if model == "mock-fail-midway" and position == 3:
                if batch:
                    yield batch
                raise UpstreamProtocolError(self.name, "mock-fail-midway failed on purpose")
            delta: dict[str, Any] = {"content": token}
            if position == 0:
                delta["role"] = "assistant"
            batch.append(
                StreamChunk([{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}])
            )
        batch.append(
            StreamChunk(
                [{"index": 0, "delta": {}, "finish_reason": finish_reason, "logprobs": None}],
                usage=TokenUsage(estimate_prompt_tokens(request.messages), len(tokens)),
            )
        )
        yield batch

    async def embed(
        self, inputs: EmbeddingInputs, model: str, dimensions: int | None, user: str | None = None
    ) -> Embeddings:
        """A unit vector per input; `mock-fail-midway` fails as an upstream's bad answer."""
        self._check_model(model)
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        if model == "mock-fail-midway":
            raise UpstreamProtocolError(self.name, "mock-fail-midway failed on purpose")
        size = dimensions or self.embedding_dimensions
        if size * len(inputs) > _MAX_EMBEDDING_NUMBERS:
            raise InvalidRequest(
                f"the mock makes at most {_MAX_EMBEDDING_NUMBERS} numbers a request "
                "(inputs times dimensions)",
                param="dimensions",
            )
        vectors = [mock_vector(value, size) for value in inputs]
        return Embeddings(vectors, TokenUsage(estimate_input_tokens(inputs), 0))

    def _check_model(self, model: str) -> None:
        if model not in self.models:
            raise UpstreamStatusError(self.name, f"model {model!r} not found", upstream_status=404)
        if model == "mock-fail-early":
            raise UpstreamStatusError(
                self.name, "mock-fail-early failed on purpose", upstream_status=503
            )

    def _answer(self, request: ChatRequest, model: str) -> tuple[list[str], str]:
        self._check_model(model)
        said = next((m.text() for m in reversed(request.messages) if m.role == "user"), "")[
            :_ECHO_LIMIT
        ]
        text = f"This is a mock reply from quart_llm. You said: {said}"
        words = text.split(" ")
        tokens = [word if i == 0 else " " + word for i, word in enumerate(words)]
        limit = request.output_limit
        if limit is not None and limit < len(tokens):
            return tokens[:limit], "length"
        return tokens, "stop"


def mock_vector(value: str | list[int], size: int) -> list[float]:
    """The unit vector of `value` (a text or tokens): SHA-256 of it stretched to `size`
    numbers in [-1, 1), then normalised."""
    seed = ("s:" + value if isinstance(value, str) else "t:" + ",".join(map(str, value))).encode()
    numbers: list[float] = []
    block = 0
    while len(numbers) < size:
        digest = hashlib.sha256(b"%d:" % block + seed).digest()
        numbers.extend(word / 2**31 - 1.0 for (word,) in struct.iter_unpack(">I", digest))
        block += 1
    vector = numbers[:size]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
