"""The OpenAPI document: quart-schema's, with what it cannot say on its own.

The document is OpenAPI 3.2, so an event stream can say what each event carries: routes marked
with `streams_events` get a `text/event-stream` response whose `itemSchema` is the generic SSE
event (OAS 3.2 section 4.14.4: `data`, `event`, `id`, `retry`), its `data` one of the route's
JSON payloads (`contentMediaType: application/json` with a `contentSchema`), its error event,
or its terminator. `openapi_versions.as_openapi_3_1` makes the copy 3.1 tools read. Operation
ids are the view names (`create_chat_completion`), which generated SDKs turn into method
names. Tags are sorted so the committed document does not change from run to run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from quart_schema import OpenAPIProvider, document_response
from werkzeug.routing import Rule

from quart_llm.schemas.errors import ErrorBody
from quart_llm.streaming.sse import DONE_DATA
from quart_llm.web.openapi_versions import media_type_objects

OPENAPI_VERSION = "3.2.0"
SSE_ATTRIBUTE = "_quart_llm_sse_events"
SSE_MEDIA_TYPE = "text/event-stream"
SSE_FIELDS: dict[str, Any] = {
    "event": {"type": "string"},
    "id": {"type": "string"},
    "retry": {"type": "integer", "minimum": 0},
}
"""The generic event's fields besides `data`, typed as the SSE specification parses them."""


def document_errors[F: Callable[..., Any]](
    *statuses: int, body: type[BaseModel] = ErrorBody
) -> Callable[[F], F]:
    """Document each status as an error in the route's shape (OpenAI's `ErrorBody` unless
    `body` says otherwise)."""

    def decorator(func: F) -> F:
        for status in statuses:
            func = document_response(body, status)(func)
        return func

    return decorator


@dataclass(frozen=True, slots=True)
class EventStreamDoc:
    """What a streamed route's events carry: the payloads of its events, the error event a
    stream that fails after it started ends with, and the data of the event that ends a
    complete answer (None when the last payload ends it)."""

    payloads: tuple[type[BaseModel], ...]
    always: bool
    error: type[BaseModel] | None = ErrorBody
    terminator: str | None = DONE_DATA


def streams_events[F: Callable[..., Any]](
    *payloads: type[BaseModel],
    always: bool,
    error: type[BaseModel] | None = ErrorBody,
    terminator: str | None = DONE_DATA,
) -> Callable[[F], F]:
    """Document that a route answers with Server-Sent Events (always, or on request) whose
    `data` is JSON of one of `payloads`, or of `error` once when the stream fails after it
    started, or the plain `terminator` that ends a complete answer (OpenAI's `[DONE]`)."""
    if not payloads:
        raise ValueError("an event stream carries at least one payload model")
    stream = EventStreamDoc(payloads, always, error, terminator)

    def decorator(func: F) -> F:
        setattr(func, SSE_ATTRIBUTE, stream)
        return func

    return decorator


CSV_ATTRIBUTE = "_quart_llm_csv"
CSV_MEDIA_TYPE = "text/csv"


def answers_csv[F: Callable[..., Any]](columns: Sequence[str]) -> Callable[[F], F]:
    """Document that the route's 200 may also be CSV (asked with `format=csv` or `Accept:
    text/csv`), with a header row of `columns`."""

    def decorator(func: F) -> F:
        setattr(func, CSV_ATTRIBUTE, tuple(columns))
        return func

    return decorator


class GatewayOpenAPIProvider(OpenAPIProvider):
    """quart-schema's document as OpenAPI 3.2, with event streams and shared schemas."""

    def schema(self) -> dict[str, Any]:
        spec = super().schema()
        spec["openapi"] = OPENAPI_VERSION
        _hoist_titled_schemas(spec)
        return spec

    def operation_id(self, method: str, path: str, func: Callable[..., Any]) -> str | None:
        return func.__name__

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        stream: EventStreamDoc | None = getattr(func, SSE_ATTRIBUTE, None)
        csv_columns: tuple[str, ...] | None = getattr(func, CSV_ATTRIBUTE, None)
        for operations in paths.values():
            for operation in operations.values():
                if "tags" in operation:
                    operation["tags"] = sorted(operation["tags"])
                if "requestBody" in operation:
                    operation["requestBody"]["required"] = True
                if stream is not None:
                    components.update(self._add_event_stream(operation, stream))
                if csv_columns is not None:
                    _add_csv(operation, csv_columns)
        return paths, components

    def _add_event_stream(
        self, operation: dict[str, Any], stream: EventStreamDoc
    ) -> dict[str, Any]:
        """Give the operation's 200 a `text/event-stream` entry; the models it names."""
        definitions: dict[str, Any] = {}
        models = stream.payloads if stream.error is None else (*stream.payloads, stream.error)
        for model in models:
            response_object, model_definitions = self.build_response_object(model, None)
            definitions.update(model_definitions)
            definitions[model.__name__] = response_object["content"]["application/json"]["schema"]
        responses = operation.setdefault("responses", {})
        success = responses.setdefault(200, {"description": "", "content": {}})
        if stream.always:
            success["content"] = {}
        success["description"] = _stream_description(stream)
        success["content"][SSE_MEDIA_TYPE] = {"itemSchema": event_item_schema(stream)}
        return definitions


def _add_csv(operation: dict[str, Any], columns: tuple[str, ...]) -> None:
    """Give the operation's 200 a `text/csv` entry beside its JSON."""
    success = operation.setdefault("responses", {}).setdefault(200, {"content": {}})
    success["content"][CSV_MEDIA_TYPE] = {
        "schema": {
            "type": "string",
            "description": f"CSV with a header row: {','.join(columns)}; an unknown value is an "
            "empty cell.",
        }
    }


def event_item_schema(stream: EventStreamDoc) -> dict[str, Any]:
    """One event of the stream, as OAS 3.2 models a parsed SSE event: `data` is a string that
    holds JSON of a payload (or of the error), or is the terminator."""
    choices = [
        _json_data(model, f"An event carrying one `{model.__name__}`.") for model in stream.payloads
    ]
    if stream.error is not None:
        choices.append(
            _json_data(stream.error, "The stream failed after it started: the last event.")
        )
    if stream.terminator is not None:
        choices.append({"const": stream.terminator, "description": "The end of a complete answer."})
    data = {"type": "string", "anyOf": choices}
    return {"type": "object", "required": ["data"], "properties": {"data": data, **SSE_FIELDS}}


def _json_data(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {
        "contentMediaType": "application/json",
        "contentSchema": {"$ref": f"#/components/schemas/{model.__name__}"},
        "description": description,
    }


def _stream_description(stream: EventStreamDoc) -> str:
    names = " or ".join(f"`{model.__name__}`" for model in stream.payloads)
    events = f"Server-Sent Events, each `data:` one {names} as JSON"
    if stream.terminator is not None:
        events += f"; a complete answer ends with `data: {stream.terminator}`"
    if stream.error is not None:
        events += (
            f"; a stream that fails after it started ends with one `{stream.error.__name__}` "
            "event instead"
        )
    if stream.always:
        return f"A stream of {events}."
    return f"The answer as JSON; when streamed, {events}."


def _hoist_titled_schemas(spec: dict[str, Any]) -> None:
    """Move request and response schemas that quart-schema inlines into `components` and refer
    to them, so every error response is one `ErrorBody` and SDK generators name models once
    (`ChatRequest`, not one model per operation)."""
    components: dict[str, Any] = spec["components"]["schemas"]
    for media in media_type_objects(spec):
        schema = media.get("schema", {})
        title = schema.get("title")
        if not title or "$ref" in schema:
            continue
        known = components.setdefault(title, schema)
        if known != schema:
            raise ValueError(f"two different schemas are both called {title!r}")
        media["schema"] = {"$ref": f"#/components/schemas/{title}"}
