from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate
from quart.testing import QuartClient

from quart_llm.cli import DEFAULT_SPEC_PATH
from quart_llm.web.openapi_document import openapi_document, render_openapi


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_document()


def test_committed_spec_matches_the_app() -> None:
    assert DEFAULT_SPEC_PATH.read_text() == render_openapi(), (
        "openapi/openapi.json is stale: run `python -m quart_llm openapi`"
    )


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_operation_ids_are_stable_and_readable(spec: dict[str, Any]) -> None:
    ids = {
        (path, method): operation["operationId"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    assert ids == {
        ("/v1/health", "get"): "get_health",
        ("/v1/health/live", "get"): "get_liveness",
        ("/v1/health/ready", "get"): "get_readiness",
        ("/v1/models", "get"): "list_models",
        ("/v1/chat/completions", "post"): "create_chat_completion",
        ("/v1/chat/stream", "post"): "stream_chat_completion",
        ("/v1/usage", "get"): "get_usage",
    }


def test_bearer_security_with_public_health(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/v1/health"]["get"]["security"] == []
    assert "security" not in spec["paths"]["/v1/models"]["get"]


def test_summaries_come_from_docstrings(spec: dict[str, Any]) -> None:
    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert chat["summary"] == "Create a chat completion (OpenAI-compatible)."
    assert "data: [DONE]" in chat["description"]


def test_every_error_response_uses_the_error_schema(spec: dict[str, Any]) -> None:
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (status, schema)


def test_streams_are_documented_as_event_streams(spec: dict[str, Any]) -> None:
    stream = spec["paths"]["/v1/chat/stream"]["post"]["responses"]["200"]["content"]
    assert set(stream) == {"text/event-stream"}
    reference = "#/components/schemas/ChatCompletionChunk"
    assert stream["text/event-stream"]["x-event-schema"] == {"$ref": reference}
    both = spec["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]
    assert set(both) == {"application/json", "text/event-stream"}
    assert "ChatCompletionChunk" in spec["components"]["schemas"]


async def test_served_spec_equals_the_exported_one(client: QuartClient) -> None:
    response = await client.get("/openapi.json")
    served = json.loads(await response.get_data(as_text=True))
    assert served["paths"] == openapi_document()["paths"]
