"""`streams_events` is how any route declares its event stream: a blueprint states its payload
models, its error event and its terminator (or none), and the document says each event's
`data` in an OAS 3.2 `itemSchema` that stock tools validate."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV32SpecValidator
from pydantic import BaseModel
from quart import Quart
from quart_schema import QuartSchema

from quart_llm.web.openapi_provider import GatewayOpenAPIProvider, streams_events

SSE = "text/event-stream"


class Started(BaseModel):
    """A named event's payload."""

    type: Literal["started"]


class Delta(BaseModel):
    type: Literal["delta"]
    text: str


class Failure(BaseModel):
    type: Literal["error"]
    message: str


def document_of(app: Quart) -> dict[str, Any]:
    QuartSchema(app, openapi_provider_class=GatewayOpenAPIProvider)
    spec = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    loaded: dict[str, Any] = json.loads(json.dumps(spec))
    return loaded


def events_of(spec: dict[str, Any], path: str) -> dict[str, Any]:
    content = spec["paths"][path]["post"]["responses"]["200"]["content"]
    schema: dict[str, Any] = content[SSE]["itemSchema"]
    return schema


def test_a_route_declares_its_payloads_error_and_no_terminator() -> None:
    app = Quart(__name__)

    @app.post("/v1/messages")
    @streams_events(Started, Delta, always=True, error=Failure, terminator=None)
    async def create_message() -> str:
        return ""

    spec = document_of(app)
    validate(spec, cls=OpenAPIV32SpecValidator)
    choices = events_of(spec, "/v1/messages")["properties"]["data"]["anyOf"]
    assert [choice["contentSchema"]["$ref"].rpartition("/")[2] for choice in choices] == [
        "Started",
        "Delta",
        "Failure",
    ]
    assert {"Started", "Delta", "Failure"} <= set(spec["components"]["schemas"])
    content = spec["paths"]["/v1/messages"]["post"]["responses"]["200"]["content"]
    assert set(content) == {SSE}, "an always-streamed route answers with events only"
    description = spec["paths"]["/v1/messages"]["post"]["responses"]["200"]["description"]
    assert "`Started` or `Delta`" in description and "[DONE]" not in description


def test_defaults_are_the_openai_error_and_done() -> None:
    app = Quart(__name__)

    @app.post("/v1/things")
    @streams_events(Delta, always=False)
    async def create_thing() -> str:
        return ""

    choices = events_of(document_of(app), "/v1/things")["properties"]["data"]["anyOf"]
    assert choices[1]["contentSchema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert choices[2]["const"] == "[DONE]"


def test_a_stream_needs_a_payload() -> None:
    with pytest.raises(ValueError, match="at least one payload"):
        streams_events(always=True)
