"""The official openai client's `embeddings.create`, unmodified, against `/v1/embeddings`
through the mock and the OpenAI-compatible, OpenRouter and Ollama simulators: every input
shape, float and base64 (the SDK's default, which it decodes), `dimensions`, batches split to
the upstream's limit and reassembled in order, refusals and upstream failures."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.conftest import AUTH
from tests.integration.gateway_with_simulators import (
    Upstreams,
    chat_requests,
    gateway_overrides,
    posted,
    simulator_config,
)
from tests.simulators import OllamaSimulator, OpenAICompatSimulator
from tests.support.live_server import running_gateway

BATCH = 3
"""The upstreams take at most this many inputs a request; the gateway is told so."""
MODELS = {
    "mock": "mock/mock-1",
    "openai": "openai/text-embedding-3-small",
    "openrouter": "openrouter/openai/text-embedding-3-small",
    "ollama": "ollama/nomic-embed-text",
}
SIMULATED = ("openai", "openrouter", "ollama")
TOKEN_PROVIDERS = ("mock", "openai", "openrouter")


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    """The shared gateway in front of the simulators, each of which takes `BATCH` inputs a
    request (and the gateway knows it); `chatonly` is the OpenAI simulator configured not to
    embed, and OpenRouter embeds with one model only."""
    config = simulator_config()
    config.embedding_batch_limit = BATCH
    with (
        OllamaSimulator(config) as ollama,
        OpenAICompatSimulator(config, flavor="openai") as compat,
        OpenAICompatSimulator(config, flavor="openrouter") as openrouter,
    ):
        overrides = gateway_overrides(ollama, compat, openrouter)
        providers = overrides["providers"]
        for name in SIMULATED:
            providers[name]["embeddings"] = {"batch_size": BATCH, "concurrency": 2}
        providers["openrouter"]["embeddings"]["models"] = ["openai/text-embedding-3-small"]
        providers["chatonly"] = {**providers["openai"], "embeddings": {"enabled": False}}
        with running_gateway(overrides) as gateway:
            yield Upstreams(ollama, compat, openrouter, gateway)


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def posted_bodies(upstreams: Upstreams, provider: str) -> list[dict[str, Any]]:
    return [orjson.loads(r.body) for r in chat_requests(upstreams.simulator(provider))]


@pytest.mark.parametrize("provider", MODELS)
async def test_a_string_gets_one_deterministic_unit_vector(
    openai_sdk: openai.AsyncOpenAI, provider: str
) -> None:
    first = await openai_sdk.embeddings.create(model=MODELS[provider], input="The café opens")
    again = await openai_sdk.embeddings.create(model=MODELS[provider], input="The café opens")
    other = await openai_sdk.embeddings.create(model=MODELS[provider], input="It closes")
    (item,) = first.data
    assert (first.object, item.object, item.index) == ("list", "embedding", 0)
    assert first.model == MODELS[provider]
    assert math.isclose(norm(item.embedding), 1.0, rel_tol=1e-4)
    assert again.data[0].embedding == item.embedding
    assert other.data[0].embedding != item.embedding
    assert first.usage.prompt_tokens > 0
    assert first.usage.total_tokens == first.usage.prompt_tokens


@pytest.mark.parametrize("provider", MODELS)
async def test_float_and_base64_answers_agree(
    openai_sdk: openai.AsyncOpenAI, provider: str
) -> None:
    """The SDK asks for base64 unless told otherwise, and decodes it to floats."""
    decoded = await openai_sdk.embeddings.create(model=MODELS[provider], input=["a", "b"])
    floats = await openai_sdk.embeddings.create(
        model=MODELS[provider], input=["a", "b"], encoding_format="float"
    )
    for base64_item, float_item in zip(decoded.data, floats.data, strict=True):
        assert base64_item.embedding == pytest.approx(float_item.embedding, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("provider", MODELS)
async def test_an_array_larger_than_the_upstream_limit_comes_back_in_order(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams, provider: str
) -> None:
    texts = [f"text number {index}" for index in range(3 * BATCH + 1)]
    if provider != "mock":
        upstreams.simulator(provider).clear()
    whole = await openai_sdk.embeddings.create(model=MODELS[provider], input=texts)
    assert [item.index for item in whole.data] == list(range(len(texts)))
    for index in (0, BATCH, len(texts) - 1):
        single = await openai_sdk.embeddings.create(model=MODELS[provider], input=texts[index])
        assert whole.data[index].embedding == single.data[0].embedding
    if provider != "mock":
        sent = posted_bodies(upstreams, provider)[:4]
        assert sorted(len(body["input"]) for body in sent) == [1, BATCH, BATCH, BATCH]
        assert sorted(text for body in sent for text in body["input"]) == sorted(texts)


async def test_indexes_sent_out_of_order_are_put_back(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams
) -> None:
    straight = await openai_sdk.embeddings.create(model=MODELS["openai"], input=["x", "y", "z"])
    upstreams.openai.config.embedding_order_reversed = True
    try:
        reversed_ = await openai_sdk.embeddings.create(
            model=MODELS["openai"], input=["x", "y", "z"]
        )
    finally:
        upstreams.openai.config.embedding_order_reversed = False
    assert [item.embedding for item in reversed_.data] == [item.embedding for item in straight.data]


@pytest.mark.parametrize("provider", TOKEN_PROVIDERS)
async def test_tokens_and_token_arrays(openai_sdk: openai.AsyncOpenAI, provider: str) -> None:
    one = await openai_sdk.embeddings.create(model=MODELS[provider], input=[9906, 1917])
    many = await openai_sdk.embeddings.create(model=MODELS[provider], input=[[9906, 1917], [15339]])
    assert len(one.data) == 1 and len(many.data) == 2
    assert many.data[0].embedding == one.data[0].embedding
    assert one.usage.prompt_tokens == 2


async def test_ollama_refuses_tokens_before_asking_it(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams
) -> None:
    upstreams.ollama.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.embeddings.create(model=MODELS["ollama"], input=[1, 2, 3])
    assert caught.value.param == "input"
    assert "embeds only text" in caught.value.message
    assert chat_requests(upstreams.ollama) == []


@pytest.mark.parametrize("provider", MODELS)
async def test_dimensions_are_passed_on(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams, provider: str
) -> None:
    if provider != "mock":
        upstreams.simulator(provider).clear()
    answer = await openai_sdk.embeddings.create(model=MODELS[provider], input="short", dimensions=8)
    assert len(answer.data[0].embedding) == 8
    if provider != "mock":
        (sent,) = posted_bodies(upstreams, provider)
        assert sent["dimensions"] == 8


@pytest.mark.parametrize("provider", SIMULATED)
async def test_the_end_user_id_reaches_apis_that_take_one(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams, provider: str
) -> None:
    upstreams.simulator(provider).clear()
    await openai_sdk.embeddings.create(model=MODELS[provider], input="short", user="user-7")
    (sent,) = posted_bodies(upstreams, provider)
    assert sent.get("user") == (None if provider == "ollama" else "user-7")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"input": ""}, "input"),
        ({"input": []}, "input"),
        ({"input": [1, "a"]}, "input"),
        ({"input": "a", "dimensions": 0}, "dimensions"),
        ({"input": "a", "encoding_format": "hex"}, "encoding_format"),
        ({"input": "a", "extra_body": {"truncate": True}}, "truncate"),
    ],
)
async def test_bad_input_is_an_openai_400(
    openai_sdk: openai.AsyncOpenAI, fields: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.embeddings.create(model="mock/mock-1", **fields)
    assert caught.value.param == param
    body = caught.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    assert caught.value.request_id is not None


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("chatonly/text-embedding-3-small", "embeddings_unsupported"),
        ("openrouter/openai/other-embed", "embeddings_unsupported"),
        ("openai/gpt-4o-mini", "upstream_rejected_request"),
        ("ollama/llama3.2", "upstream_rejected_request"),
    ],
)
async def test_a_provider_or_model_that_cannot_embed_is_a_400(
    openai_sdk: openai.AsyncOpenAI, model: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.embeddings.create(model=model, input="a")
    assert caught.value.code == code
    assert "embed" in caught.value.message


async def test_a_server_that_does_not_implement_embeddings_is_a_400(
    openai_sdk: openai.AsyncOpenAI, upstreams: Upstreams
) -> None:
    upstreams.openai.config.embeddings_enabled = False
    try:
        with pytest.raises(openai.BadRequestError) as caught:
            await openai_sdk.embeddings.create(model=MODELS["openai"], input="a")
    finally:
        upstreams.openai.config.embeddings_enabled = True
    assert caught.value.code == "embeddings_unsupported"
    assert "does not support embeddings" in caught.value.message


@pytest.mark.parametrize(
    ("model", "error", "code"),
    [
        ("openai/sim/rate-limited", openai.RateLimitError, "upstream_rate_limited"),
        ("openai/sim/error-before-stream", openai.InternalServerError, "upstream_error"),
        ("ollama/sim/error-in-200", openai.InternalServerError, "upstream_error"),
        ("ollama/sim/malformed-line", openai.InternalServerError, "upstream_protocol_error"),
        (
            "openai/sim/wrong-content-type",
            openai.InternalServerError,
            "upstream_protocol_error",
        ),
        ("mock/mock-fail-early", openai.InternalServerError, "upstream_unavailable"),
        ("openai/gpt-9", openai.NotFoundError, "model_not_found"),
    ],
)
async def test_upstream_failures_are_mapped(
    openai_sdk: openai.AsyncOpenAI, model: str, error: type[openai.APIStatusError], code: str
) -> None:
    with pytest.raises(error) as caught:
        await openai_sdk.embeddings.create(model=model, input="a")
    assert caught.value.code == code
    assert "sk-upstream-secret" not in caught.value.message


async def test_answers_carry_the_request_id_and_provider(upstreams: Upstreams) -> None:
    upstreams.ollama.clear()
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url) as client:
        response = await client.post(
            "/v1/embeddings",
            json={"model": MODELS["ollama"], "input": "a"},
            headers={**AUTH, "X-Request-ID": "embed-17"},
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "embed-17"
    assert response.headers["x-quart-llm-provider"] == "ollama"
    (sent,) = chat_requests(upstreams.ollama)
    assert sent.headers["x-request-id"] == "embed-17"


@pytest.mark.parametrize("provider", ["openai", "ollama"])
async def test_a_client_that_leaves_closes_every_upstream_request(
    upstreams: Upstreams, provider: str
) -> None:
    """The inputs are split in two batches, both hanging upstream; the client gives up and
    both upstream requests are closed, no task of the request left behind."""
    simulator = upstreams.simulator(provider)
    simulator.clear()
    tasks_before = upstreams.gateway.task_count()
    body = {"model": f"{provider}/sim/hang", "input": ["a"] * (BATCH + 1)}
    async with httpx.AsyncClient(base_url=upstreams.gateway.base_url, timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/embeddings", json=body, headers=AUTH)
    await posted(simulator, 2.0)
    sent = chat_requests(simulator)
    assert len(sent) == 2, "both batches were sent at once"
    for recorded in sent:
        await asyncio.to_thread(simulator.wait_for_client_close, recorded, 2.0)
    deadline = time.monotonic() + 2
    while upstreams.gateway.task_count() > tasks_before and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert upstreams.gateway.task_count() <= tasks_before, "a task outlived the request"
