"""What every provider kind makes of an embeddings answer (one vector per input, in order, of
one length, or a protocol error), what each refuses before any I/O, and the mock's vectors."""

from __future__ import annotations

import math
from typing import Any

import pytest

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.mock import MockProvider, mock_vector
from quart_llm.providers.ollama import OllamaProvider
from quart_llm.providers.openai_compat import OpenAICompatProvider

URL = "http://127.0.0.1:9/v1"


def openai_provider(**settings: Any) -> OpenAICompatProvider:
    settings = {"kind": "openai", "base_url": URL, **settings}
    return OpenAICompatProvider("up", ProviderSettings.model_validate(settings))


def ollama_provider() -> OllamaProvider:
    return OllamaProvider(
        "ol", ProviderSettings.model_validate({"kind": "ollama", "base_url": URL})
    )


def openai_answer(*vectors: list[Any], usage: Any = None) -> dict[str, Any]:
    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": "m", "usage": usage}


def test_openai_vectors_are_put_in_index_order_with_their_usage() -> None:
    answer = openai_answer([1.0, 0.0], [0.0, 1], usage={"prompt_tokens": 5, "total_tokens": 5})
    answer["data"].reverse()
    parsed = openai_provider().parse_embeddings(answer, 2)
    assert parsed.vectors == [[1.0, 0.0], [0.0, 1.0]]
    assert parsed.usage is not None
    assert (parsed.usage.prompt_tokens, parsed.usage.completion_tokens) == (5, 0)
    assert not parsed.usage.estimated
    assert openai_provider().parse_embeddings(openai_answer([1.0]), 1).usage is None


@pytest.mark.parametrize(
    ("answer", "count", "said"),
    [
        (openai_answer([1.0]), 2, "1 vectors for 2 inputs"),
        (openai_answer([1.0], [1.0, 2.0]), 2, "mixes vector lengths"),
        (openai_answer([1.0], ["x"]), 2, "not an array of numbers"),
        (openai_answer([1.0], []), 2, "not an array of numbers"),
        (openai_answer([True]), 1, "not an array of numbers"),
        ({"data": [{"index": 1, "embedding": [1.0]}]}, 1, "indexes"),
        (
            {"data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [1.0]}]},
            2,
            "indexes",
        ),
        ({"data": "no"}, 1, "no `data` array"),
        ([], 1, "not a JSON object"),
    ],
)
def test_openai_answers_that_do_not_fit_the_inputs_are_protocol_errors(
    answer: Any, count: int, said: str
) -> None:
    with pytest.raises(UpstreamProtocolError, match=said):
        openai_provider().parse_embeddings(answer, count)


def test_an_openai_error_inside_a_200_answer_is_the_upstreams_error() -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        openai_provider().parse_embeddings({"error": {"message": "boom", "code": 429}}, 1)
    assert caught.value.status == 429


def test_ollama_vectors_and_usage() -> None:
    answer = {"model": "m", "embeddings": [[0.5, 0.5], [1, 0]], "prompt_eval_count": 4}
    parsed = ollama_provider().parse_embeddings(answer, 2)
    assert parsed.vectors == [[0.5, 0.5], [1.0, 0.0]]
    assert parsed.usage is not None and parsed.usage.prompt_tokens == 4
    with pytest.raises(UpstreamProtocolError, match="0 vectors for 1 inputs"):
        ollama_provider().parse_embeddings({"embeddings": []}, 1)
    with pytest.raises(UpstreamStatusError, match="model runner stopped"):
        ollama_provider().parse_embeddings({"error": "model runner stopped"}, 1)


def test_payloads_ask_for_floats_and_pass_dimensions_and_the_user_where_read() -> None:
    assert openai_provider().embedding_payload([[1, 2]], "m", 8, None) == {
        "model": "m", "input": [[1, 2]], "encoding_format": "float", "dimensions": 8,
    }  # fmt: skip
    assert openai_provider().embedding_payload(["a"], "m", None, "u-1") == {
        "model": "m", "input": ["a"], "encoding_format": "float", "user": "u-1",
    }  # fmt: skip
    ollama = ollama_provider().embedding_payload(["a"], "m", None, "u-1")
    assert ollama == {"model": "m", "input": ["a"]}  # /api/embed has no end-user field


def test_refusals_before_any_io() -> None:
    openai_provider().check_embeddings("any", tokens=True)
    with pytest.raises(InvalidRequest, match="embeds only text") as caught:
        ollama_provider().check_embeddings("nomic-embed-text", tokens=True)
    assert caught.value.param == "input"
    off = openai_provider(embeddings={"enabled": False})
    with pytest.raises(InvalidRequest, match="'up' does not make embeddings") as caught:
        off.check_embeddings("any", tokens=False)
    assert caught.value.code == "embeddings_unsupported"
    listed = openai_provider(embeddings={"models": ["e5"]})
    listed.check_embeddings("e5", tokens=False)
    with pytest.raises(InvalidRequest, match="model 'other' of provider 'up'"):
        listed.check_embeddings("other", tokens=False)


async def test_the_mock_makes_deterministic_unit_vectors() -> None:
    mock = MockProvider("mock", ProviderSettings(kind="mock"))
    inputs: list[Any] = ["same", "other", [1, 2]]
    first = await mock.embed(inputs, "mock-1", None)
    again = await mock.embed(["same"], "mock-1", 5)
    assert [len(vector) for vector in first.vectors] == [64, 64, 64]
    assert len(again.vectors[0]) == 5
    assert again.vectors[0] == mock_vector("same", 5)
    assert first.vectors[0] == mock_vector("same", 64)
    assert first.vectors[0][:5] != again.vectors[0], "a shorter vector is normalised anew"
    assert len({tuple(vector) for vector in first.vectors}) == 3
    for vector in first.vectors:
        assert math.isclose(sum(x * x for x in vector), 1.0)
    assert first.usage is not None and first.usage.prompt_tokens == 1 + 2 + 2
    with pytest.raises(InvalidRequest, match="at most"):
        await mock.embed(["a"] * 2, "mock-1", 1 << 20)
    with pytest.raises(UpstreamStatusError):
        await mock.embed(["a"], "mock-fail-early", None)
