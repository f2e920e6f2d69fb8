from __future__ import annotations

import json
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV31SpecValidator, OpenAPIV32SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from quart.testing import QuartClient

from quart_llm.cli import DEFAULT_SPEC_PATH
from quart_llm.config.paths import ROOT_PATH
from quart_llm.web.openapi_document import copy_3_1_path, openapi_document, render_openapi
from quart_llm.web.openapi_versions import as_openapi_3_1

SSE = "text/event-stream"
STREAMED = {"/v1/chat/completions": {"application/json", SSE}, "/v1/chat/stream": {SSE}}
TRANSLATED_STREAMS = {
    "/v1/messages": ("AnthropicStreamEvent", "AnthropicErrorBody"),
    "/v1/responses": ("ResponseStreamEvent", "ResponseFailedEvent"),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_document()


def test_committed_documents_match_the_app() -> None:
    for path, text in render_openapi(ROOT_PATH / DEFAULT_SPEC_PATH).items():
        assert path.read_text() == text, f"{path} is stale: run `python -m quart_llm openapi`"
    assert copy_3_1_path(DEFAULT_SPEC_PATH).name == "openapi-3.1.json"


def test_spec_is_valid_openapi_3_2_and_its_copy_valid_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.2.0"
    validate(spec, cls=OpenAPIV32SpecValidator)
    copy = as_openapi_3_1(spec)
    assert copy["openapi"] == "3.1.0"
    validate(copy, cls=OpenAPIV31SpecValidator)
    with pytest.raises(OpenAPIValidationError, match="itemSchema"):
        validate({**spec, "openapi": "3.1.0"}, cls=OpenAPIV31SpecValidator)


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
        ("/v1/embeddings", "post"): "create_embedding",
        ("/v1/messages", "post"): "create_anthropic_message",
        ("/v1/messages/count_tokens", "post"): "count_anthropic_message_tokens",
        ("/v1/responses", "post"): "create_model_response",
        ("/v1/usage", "get"): "get_usage",
        ("/admin/v1/usage", "get"): "get_usage_report",
        ("/admin/v1/requests", "get"): "list_usage_records",
        ("/admin/v1/keys", "post"): "create_key",
        ("/admin/v1/keys", "get"): "list_keys",
        ("/admin/v1/keys/{key_id}", "get"): "get_key",
        ("/admin/v1/keys/{key_id}", "patch"): "update_key",
        ("/admin/v1/keys/{key_id}", "delete"): "revoke_key",
        ("/admin/v1/status", "get"): "get_gateway_status",
    }


def test_the_admin_api_has_its_tag_and_scheme(spec: dict[str, Any]) -> None:
    admin = [
        operation
        for path, operations in spec["paths"].items()
        for operation in operations.values()
        if path.startswith("/admin/")
    ]
    assert admin
    for operation in admin:
        assert (operation["tags"], operation["security"]) == (["admin"], [{"adminKey": []}])
        assert "401" in operation["responses"]
    assert spec["components"]["securitySchemes"]["adminKey"]["scheme"] == "bearer"


def test_usage_reports_are_documented_as_json_or_csv(spec: dict[str, Any]) -> None:
    for path in ("/v1/usage", "/admin/v1/usage"):
        operation = spec["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
        assert {p["name"] for p in operation["parameters"]} >= {"group_by", "from", "to", "format"}
    for path in ("/admin/v1/usage", "/admin/v1/requests"):
        operation = spec["paths"][path]["get"]
        assert (operation["tags"], operation["security"]) == (["admin"], [{"adminKey": []}])


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


def test_every_error_response_uses_its_apis_error_schema(spec: dict[str, Any]) -> None:
    for path, operations in spec["paths"].items():
        body = "AnthropicErrorBody" if path.startswith("/v1/messages") else "ErrorBody"
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": f"#/components/schemas/{body}"}, (status, schema)


@pytest.mark.parametrize("path", sorted(TRANSLATED_STREAMS))
def test_translated_apis_document_their_answers_and_events(spec: dict[str, Any], path: str) -> None:
    answer = spec["paths"][path]["post"]["responses"]["200"]
    assert set(answer["content"]) == {"application/json", SSE}
    data = answer["content"][SSE]["itemSchema"]["properties"]["data"]
    assert [choice.get("contentSchema") or choice["const"] for choice in data["anyOf"]] == [
        {"$ref": f"#/components/schemas/{name}"} for name in TRANSLATED_STREAMS[path]
    ], "their events, their failure, and no [DONE]"
    assert "[DONE]" not in answer["description"]


def test_streams_are_documented_with_an_item_schema(spec: dict[str, Any]) -> None:
    for path, media_types in STREAMED.items():
        content = spec["paths"][path]["post"]["responses"]["200"]["content"]
        assert set(content) == media_types, path
        event = content[SSE]["itemSchema"]
        assert "schema" not in content[SSE]
        assert event["required"] == ["data"]
        assert set(event["properties"]) == {"data", "event", "id", "retry"}
        data = event["properties"]["data"]
        assert data["type"] == "string"
        assert [choice.get("contentSchema") or choice["const"] for choice in data["anyOf"]] == [
            {"$ref": "#/components/schemas/ChatCompletionChunk"},
            {"$ref": "#/components/schemas/ErrorBody"},
            "[DONE]",
        ]
        json_choices = [choice for choice in data["anyOf"] if "contentSchema" in choice]
        assert {choice["contentMediaType"] for choice in json_choices} == {"application/json"}
    assert "ChatCompletionChunk" in spec["components"]["schemas"]


def test_the_3_1_copy_keeps_the_item_schema_as_an_extension(spec: dict[str, Any]) -> None:
    before = json.dumps(spec, sort_keys=True)
    copy = as_openapi_3_1(spec)
    assert json.dumps(spec, sort_keys=True) == before, "the 3.2 document is left as it was"
    for path in [*STREAMED, *TRANSLATED_STREAMS]:
        original = spec["paths"][path]["post"]["responses"]["200"]["content"][SSE]
        converted = copy["paths"][path]["post"]["responses"]["200"]["content"][SSE]
        assert converted == {"schema": {"type": "string"}, "x-itemSchema": original["itemSchema"]}
    assert "itemSchema" not in json.dumps(copy).replace("x-itemSchema", "")
    copy["openapi"] = spec["openapi"]
    for path in [*STREAMED, *TRANSLATED_STREAMS]:
        copy["paths"][path] = spec["paths"][path]
    assert copy == spec, "nothing but the version and the streams changes"


async def test_served_documents_equal_the_exported_ones(client: QuartClient) -> None:
    exported = openapi_document()
    for route, expected in (
        ("/openapi.json", exported),
        ("/openapi-3.1.json", as_openapi_3_1(exported)),
    ):
        response = await client.get(route)
        assert response.status_code == 200, route
        served = json.loads(await response.get_data(as_text=True))
        assert served == expected, route
