"""The OpenAPI document: quart-schema's, with what it cannot say on its own.

quart-schema emits every response as `application/json`; chat routes that stream get a
`text/event-stream` response whose events are described by the chunk schema. OpenAPI 3.1 has
no field for the schema of one event (`itemSchema` arrives in 3.2), so it goes under
`x-event-schema` and in the description. Operation ids are the view names
(`create_chat_completion`), which generated SDKs turn into method names. Tags are sorted so
the committed document does not change from run to run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from quart_schema import OpenAPIProvider, document_response
from werkzeug.routing import Rule

from quart_llm.schemas.errors import ErrorBody

SSE_ATTRIBUTE = "_quart_llm_sse_events"
SSE_MEDIA_TYPE = "text/event-stream"


def document_errors[F: Callable[..., Any]](*statuses: int) -> Callable[[F], F]:
    """Document each status as an OpenAI-shaped error (`ErrorBody`)."""

    def decorator(func: F) -> F:
        for status in statuses:
            func = document_response(ErrorBody, status)(func)
        return func

    return decorator


def streams_events[F: Callable[..., Any]](
    chunk_model: type[BaseModel], *, always: bool
) -> Callable[[F], F]:
    """Document that a route answers with SSE events of `chunk_model` (always, or on request)."""

    def decorator(func: F) -> F:
        setattr(func, SSE_ATTRIBUTE, (chunk_model, always))
        return func

    return decorator


class GatewayOpenAPIProvider(OpenAPIProvider):
    """quart-schema's document, with event streams and shared schemas."""

    def schema(self) -> dict[str, Any]:
        spec = super().schema()
        _hoist_titled_schemas(spec)
        return spec

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str | None:
        return func.__name__

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        marker = getattr(func, SSE_ATTRIBUTE, None)
        for operations in paths.values():
            for operation in operations.values():
                if "tags" in operation:
                    operation["tags"] = sorted(operation["tags"])
                if "requestBody" in operation:
                    operation["requestBody"]["required"] = True
                if marker is not None:
                    chunk_model, always = marker
                    components.update(self._add_event_stream(operation, chunk_model, always))
        return paths, components

    def _add_event_stream(
        self, operation: dict[str, Any], chunk_model: type[BaseModel], always: bool
    ) -> dict[str, Any]:
        response_object, definitions = self.build_response_object(chunk_model, None)
        chunk_schema = response_object["content"]["application/json"]["schema"]
        definitions[chunk_model.__name__] = chunk_schema
        reference = f"#/components/schemas/{chunk_model.__name__}"
        responses = operation.setdefault("responses", {})
        success = responses.setdefault(200, {"description": "", "content": {}})
        if always:
            success["content"] = {}
        success["description"] = (
            "A stream of Server-Sent Events: each `data:` line carries one "
            f"`{chunk_model.__name__}` ({reference}); the stream ends with `data: [DONE]`, or "
            'with one `data: {"error": ...}` event when it fails after it started.'
            if always
            else "The completion as JSON; with `stream: true`, Server-Sent Events of "
            f"`{chunk_model.__name__}` ({reference}) ending with `data: [DONE]`."
        )
        success["content"][SSE_MEDIA_TYPE] = {
            "schema": {"type": "string"},
            "x-event-schema": {"$ref": reference},
        }
        return definitions


def _hoist_titled_schemas(spec: dict[str, Any]) -> None:
    """Move request and response schemas that quart-schema inlines into `components` and refer
    to them, so every error response is one `ErrorBody` and SDK generators name models once
    (`ChatRequest`, not one model per operation)."""
    components: dict[str, Any] = spec["components"]["schemas"]
    for operations in spec["paths"].values():
        for operation in operations.values():
            bodies = [operation.get("requestBody", {})]
            bodies.extend(operation.get("responses", {}).values())
            for body in bodies:
                for media in body.get("content", {}).values():
                    schema = media.get("schema", {})
                    title = schema.get("title")
                    if not title or "$ref" in schema:
                        continue
                    known = components.setdefault(title, schema)
                    if known != schema:
                        raise ValueError(f"two different schemas are both called {title!r}")
                    media["schema"] = {"$ref": f"#/components/schemas/{title}"}
