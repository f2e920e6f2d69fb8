"""The work behind `/v1/embeddings`: route, admit, embed in batches, shape the answer, settle.

An embeddings request is an `UpstreamCall` like a chat (same keys, quotas, routing, retries,
fallbacks, breakers, deadline, usage record and metrics): its token budget reserves the
inputs' estimate alone, as there is no output. Each attempt splits the inputs to the
answering provider's `embeddings.batch_size`, sends at most `embeddings.concurrency` of those
requests at once, and puts the vectors back in the inputs' order; a failure of any batch fails
the attempt (and is retried or falls back as a whole), so an answer is always complete. Vectors
are asked for as floats and encoded here when the client wants base64 (little-endian float32,
what OpenAI sends and its SDKs decode).
"""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from quart_llm.errors import UpstreamTimeout
from quart_llm.observability.request_record import RequestRecord
from quart_llm.observability.request_trace import AttemptRequest
from quart_llm.providers.answers import EmbeddingInputs, Embeddings, TokenUsage
from quart_llm.providers.token_estimates import estimate_input_tokens
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.route import Route
from quart_llm.schemas.embeddings import EmbeddingsRequest
from quart_llm.services.chat import WholeAnswer
from quart_llm.services.container import Services
from quart_llm.services.keys import Principal
from quart_llm.services.upstream_call import UpstreamCall, admitted


@dataclass(slots=True, kw_only=True)
class EmbeddingsCall(UpstreamCall):
    """One embeddings request from admission to settlement."""

    request: EmbeddingsRequest

    def traced_request(self, with_content: bool) -> AttemptRequest:
        request = self.request
        return AttemptRequest(
            "embeddings",
            {
                "gen_ai.request.encoding_formats": [request.encoding_format],
                "gen_ai.embeddings.dimension.count": request.dimensions,
            },
        )


async def create_embeddings(
    services: Services, principal: Principal, request: EmbeddingsRequest, record: RequestRecord
) -> WholeAnswer:
    """The vectors of the request's inputs, in their order."""
    record.operation, record.requested_model = "embeddings", request.model
    plan = services.router.plan_embeddings(request)
    record.provider = plan.routes[0].provider.name
    record.model = plan.routes[0].model
    inputs = request.inputs
    prompt_estimate = estimate_input_tokens(inputs)
    admission = await admitted(services, principal, plan, request.model, prompt_estimate, 0)
    call = EmbeddingsCall(
        services=services,
        record=record,
        plan=plan,
        prompt_estimate=prompt_estimate,
        admission=admission,
        request=request,
    )
    attempt = embeddings_attempt(inputs, request.dimensions, request.user)
    embeddings = await call.whole_answer(attempt)
    usage = embeddings.usage or TokenUsage(prompt_estimate, 0, estimated=True)
    record.usage = usage
    await call.settle(usage)
    return WholeAnswer(_embeddings_body(call, embeddings, usage), call.headers)


def embeddings_attempt(
    inputs: EmbeddingInputs, dimensions: int | None, user: str | None
) -> Callable[[Route, Deadline], Awaitable[Embeddings]]:
    """An attempt at every input's vector from one route, before the request's deadline."""

    async def attempt(route: Route, deadline: Deadline) -> Embeddings:
        settings = route.provider.settings.embeddings
        size = settings.batch_size
        batches = [inputs[start : start + size] for start in range(0, len(inputs), size)]
        gate = asyncio.Semaphore(settings.concurrency)

        async def embed(batch: EmbeddingInputs) -> Embeddings:
            async with gate:
                return await route.provider.embed(batch, route.model, dimensions, user=user)

        try:
            async with asyncio.timeout_at(deadline.expires_at):
                if len(batches) == 1:
                    return await embed(batches[0])
                return joined(await _all_of([embed(batch) for batch in batches]))
        except TimeoutError:
            raise UpstreamTimeout(
                route.provider.name, f"no embeddings within {deadline.total:g} s"
            ) from None

    return attempt


async def _all_of[T](awaitables: list[Awaitable[T]]) -> list[T]:
    """Every result, in order; the first failure cancels the rest and is raised as it is."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(each)) for each in awaitables]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def _awaited[T](awaitable: Awaitable[T]) -> T:
    return await awaitable


def joined(parts: list[Embeddings]) -> Embeddings:
    """The batches' vectors in order, with their usage summed (estimated when any part's
    usage is missing or estimated: then the whole is the estimate of its inputs)."""
    vectors = [vector for part in parts for vector in part.vectors]
    usages = [part.usage for part in parts]
    if any(usage is None for usage in usages):
        return Embeddings(vectors)
    return Embeddings(
        vectors,
        TokenUsage(
            sum(usage.prompt_tokens for usage in usages if usage is not None),
            0,
            estimated=any(usage.estimated for usage in usages if usage is not None),
        ),
    )


def _embeddings_body(
    call: EmbeddingsCall, embeddings: Embeddings, usage: TokenUsage
) -> dict[str, Any]:
    encode = _base64 if call.request.encoding_format == "base64" else None
    wire_usage: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "total_tokens": usage.prompt_tokens,
    }
    if usage.estimated:
        wire_usage["estimated"] = True
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": index,
                "embedding": encode(vector) if encode is not None else vector,
            }
            for index, vector in enumerate(embeddings.vectors)
        ],
        "model": call.route.public_model,
        "provider": call.route.provider.name,
        "usage": wire_usage,
    }


def _base64(vector: list[float]) -> str:
    """The vector as OpenAI's base64: little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
