"""Both simulators' embeddings routes speak their wire: OpenAI's `/v1/embeddings` (and
OpenRouter's under `/api`) and Ollama's `/api/embed`, refusals and faults included."""

import base64
import math
import struct
from typing import Any

import httpx
import pytest

from . import OllamaSimulator, OpenAICompatSimulator, SimulatorConfig
from .embeddings import INVALID_INPUT


def compat_url(sim: OpenAICompatSimulator) -> str:
    prefix = "/api" if sim.openrouter else ""
    return f"{sim.base_url}{prefix}/v1/embeddings"


async def test_openai_answers_each_input_in_order_with_usage(
    http: httpx.AsyncClient, compat: OpenAICompatSimulator
) -> None:
    body = {"model": "text-embedding-3-small", "input": ["one two", "three"]}
    response = await http.post(compat_url(compat), json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["object"] == "list"
    assert answer["model"] == "text-embedding-3-small"
    assert [item["index"] for item in answer["data"]] == [0, 1]
    assert {item["object"] for item in answer["data"]} == {"embedding"}
    vectors = [item["embedding"] for item in answer["data"]]
    assert [len(vector) for vector in vectors] == [16, 16]
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-5)
    assert vectors[0] != vectors[1]
    assert answer["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    again = await http.post(compat_url(compat), json=body)
    assert again.json()["data"] == answer["data"]


async def test_openai_base64_is_little_endian_float32_and_dimensions_are_honoured(
    http: httpx.AsyncClient, compat: OpenAICompatSimulator
) -> None:
    plain = {"model": "text-embedding-3-small", "input": [1, 2, 3], "dimensions": 5}
    floats = (await http.post(compat_url(compat), json=plain)).json()["data"][0]["embedding"]
    encoded = {**plain, "encoding_format": "base64"}
    answer = (await http.post(compat_url(compat), json=encoded)).json()
    decoded = struct.unpack("<5f", base64.b64decode(answer["data"][0]["embedding"]))
    assert len(floats) == 5
    assert decoded == pytest.approx(floats, rel=1e-6)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "text-embedding-3-small", "input": ""}, "input"),
        ({"model": "text-embedding-3-small", "input": []}, "input"),
        ({"model": "text-embedding-3-small", "input": [["a"]]}, "input"),
        (
            {"model": "text-embedding-3-small", "input": "a", "encoding_format": "hex"},
            "encoding_format",
        ),
        ({"model": "text-embedding-3-small", "input": "a", "dimensions": 0}, "dimensions"),
        ({"model": "text-embedding-ada-002", "input": "a", "dimensions": 8}, None),
        ({"model": "text-embedding-3-small", "input": "a", "truncate": True}, None),
    ],
)
async def test_openai_refuses_what_openai_refuses(
    http: httpx.AsyncClient, body: dict[str, Any], param: str | None
) -> None:
    with OpenAICompatSimulator(SimulatorConfig()) as sim:
        response = await http.post(f"{sim.base_url}/v1/embeddings", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    if param == "input":
        assert error["message"] == INVALID_INPUT


async def test_openai_refuses_chat_models_unknown_models_and_large_batches(
    http: httpx.AsyncClient,
) -> None:
    config = SimulatorConfig(embedding_batch_limit=2)
    with OpenAICompatSimulator(config) as sim:
        url = f"{sim.base_url}/v1/embeddings"
        chat_model = await http.post(url, json={"model": "gpt-4o-mini", "input": "a"})
        unknown = await http.post(url, json={"model": "gpt-9", "input": "a"})
        too_many = await http.post(
            url, json={"model": "text-embedding-3-small", "input": ["a", "b", "c"]}
        )
    assert chat_model.status_code == 400
    assert "not allowed to generate embeddings" in chat_model.json()["error"]["message"]
    assert unknown.status_code == 404
    assert too_many.status_code == 400


async def test_openai_reversed_order_keeps_indexes(http: httpx.AsyncClient) -> None:
    with OpenAICompatSimulator(SimulatorConfig(embedding_order_reversed=True)) as sim:
        body = {"model": "text-embedding-3-small", "input": ["a", "b", "c"]}
        answer = (await http.post(f"{sim.base_url}/v1/embeddings", json=body)).json()
    assert [item["index"] for item in answer["data"]] == [2, 1, 0]


@pytest.mark.parametrize(
    ("model", "status"), [("sim/rate-limited", 429), ("sim/error-before-stream", 500)]
)
async def test_openai_scenarios_fail_the_answer(
    http: httpx.AsyncClient, compat: OpenAICompatSimulator, model: str, status: int
) -> None:
    response = await http.post(compat_url(compat), json={"model": model, "input": "a"})
    assert response.status_code == status


async def test_ollama_embeds_texts_with_its_metrics(
    http: httpx.AsyncClient, ollama: OllamaSimulator
) -> None:
    body = {"model": "nomic-embed-text", "input": ["why is the sky blue", "b"], "dimensions": 8}
    response = await http.post(f"{ollama.base_url}/api/embed", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    answer = response.json()
    assert set(answer) == {
        "model", "embeddings", "total_duration", "load_duration", "prompt_eval_count",
    }  # fmt: skip
    assert [len(vector) for vector in answer["embeddings"]] == [8, 8]
    assert answer["prompt_eval_count"] == 6
    single = await http.post(
        f"{ollama.base_url}/api/embed", json={"model": "nomic-embed-text", "input": "b"}
    )
    assert len(single.json()["embeddings"]) == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"model": "llama3.2", "input": "a"}, 400, '"llama3.2" does not support embeddings'),
        ({"model": "nope-embed:7b", "input": [1, 2]}, 400, "invalid input type"),
        (
            {"model": "missing", "input": "a"},
            404,
            'model "missing" not found, try pulling it first',
        ),
        ({"input": "a"}, 400, "model is required"),
        ({"model": "sim/error-before-stream", "input": "a"}, 500, None),
    ],
)
async def test_ollama_refusals_and_faults(
    http: httpx.AsyncClient,
    ollama: OllamaSimulator,
    body: dict[str, Any],
    status: int,
    message: str | None,
) -> None:
    response = await http.post(f"{ollama.base_url}/api/embed", json=body)
    assert response.status_code == status
    if message is not None:
        assert response.json() == {"error": message}
