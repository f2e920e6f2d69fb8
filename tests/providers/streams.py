"""A provider's stream one chunk at a time, as the tests read it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

from quart_llm.providers.answers import StreamChunk
from quart_llm.providers.base import Provider
from quart_llm.schemas.chat_request import ChatRequest


async def stream_chunks(
    provider: Provider, request: ChatRequest, model: str
) -> AsyncGenerator[StreamChunk]:
    """Every chunk of `provider.stream_batches`, in order; closing this closes the stream."""
    async with aclosing(provider.stream_batches(request, model)) as batches:
        async for batch in batches:
            for chunk in batch:
                yield chunk
