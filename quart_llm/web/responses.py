"""Responses: JSON encoded with orjson (the one JSON encoder on the hot path), event streams,
and headers added cheaply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import orjson
from quart import Response, g, request
from werkzeug.datastructures import Headers

from quart_llm.services.chat_streaming import EventStream
from quart_llm.streaming.sse import SSE_HEADERS
from quart_llm.web.request_body import release_body

JSON_CONTENT_TYPE = "application/json"
STREAM_SCOPE_KEY = "quart_llm.event_stream"
"""Where the answer's `EventStream` waits in the ASGI scope, for `stream_guard`."""
EVENT_STREAM_KEY = "event_stream"
"""Where the answer's `EventStream` waits in `g`: the request's record ends when it does."""


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer, encoded with orjson."""
    return Response(
        orjson.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON_CONTENT_TYPE,
    )


def event_stream_response(stream: EventStream) -> Response:
    """Server-Sent Events, with no response timeout: a stream ends when its answer does."""
    setattr(g, EVENT_STREAM_KEY, stream)
    release_body(request)
    # Closed even if it is never sent (see `stream_guard`): the scope outlives the request.
    cast("dict[str, Any]", request.scope)[STREAM_SCOPE_KEY] = stream
    response = Response(stream.events, status=200, headers={**SSE_HEADERS, **stream.headers})
    response.timeout = None
    return response


def add_missing_headers(headers: Headers, values: Mapping[str, str]) -> None:
    """`headers.setdefault` for several headers in one pass. Werkzeug finds a missing header
    by raising and catching an exception, which made four security headers cost 30 µs."""
    present = {name.lower() for name, _ in headers.items()}
    for name, value in values.items():
        if name.lower() not in present:
            headers.add(name, value)


CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def wants_csv(format_asked: str | None) -> bool:
    """Whether the client asked for CSV: `format=csv`, or `Accept: text/csv` without a
    `format`."""
    if format_asked is not None:
        return format_asked == "csv"
    return request.accept_mimetypes.best_match(("application/json", "text/csv")) == "text/csv"


def csv_response(text: str, filename: str) -> Response:
    """A CSV answer, offered as a file named `filename`."""
    return Response(
        text,
        content_type=CSV_CONTENT_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
