"""Request bodies are validated by an adapter built once per route, with quart-schema's
document and refusals unchanged."""

from __future__ import annotations

from typing import Any

import pytest
import quart_schema.conversion
from pydantic import TypeAdapter
from quart import Quart
from quart.testing import QuartClient
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE

from quart_llm.schemas.anthropic_request import (
    AnthropicCountTokensRequest,
    AnthropicMessagesRequest,
)
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.schemas.responses_request import CreateResponseRequest
from tests.conftest import AUTH

CHAT = "/v1/chat/completions"
VALID = {"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def adapters_built(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every pydantic adapter quart-schema's conversion builds from now on."""
    built: list[Any] = []

    def counting(model_class: Any, *args: Any, **kwargs: Any) -> TypeAdapter[Any]:
        built.append(model_class)
        return TypeAdapter(model_class, *args, **kwargs)

    monkeypatch.setattr(quart_schema.conversion, "TypeAdapter", counting)
    return built


async def test_answers_build_no_adapter_per_request(
    client: QuartClient, adapters_built: list[Any]
) -> None:
    for _ in range(3):
        response = await client.post(CHAT, json=VALID, headers=AUTH)
        assert response.status_code == 200
    assert [model for model in adapters_built if model is ChatRequest] == []


async def test_a_refusal_is_the_schema_error_with_its_param(client: QuartClient) -> None:
    body = {"model": "mock-1", "messages": [{"role": "user", "content": "hi"}], "n": "many"}
    response = await client.post(CHAT, json=body, headers=AUTH)
    assert response.status_code == 400
    error = (await response.get_json())["error"]
    assert error["code"] == "invalid_request"
    assert error["param"] == "n"
    assert "many" not in error["message"]


async def test_a_body_that_is_not_an_object_is_refused(client: QuartClient) -> None:
    response = await client.post(CHAT, json=["not", "an", "object"], headers=AUTH)
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "invalid_request"


def test_routes_carry_quart_schemas_request_model_for_the_document(app: Quart) -> None:
    expected = {
        "chat.create_chat_completion": ChatRequest,
        "chat.stream_chat_completion": ChatRequest,
        "messages.create_anthropic_message": AnthropicMessagesRequest,
        "messages.count_anthropic_message_tokens": AnthropicCountTokensRequest,
        "responses.create_model_response": CreateResponseRequest,
    }
    for endpoint, model in expected.items():
        view = app.view_functions[endpoint]
        assert getattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE)[0] is model
