"""Every error leaves the service as JSON in the OpenAI shape, never as HTML or a traceback.

400 is the status for every invalid request, schema violations included (OpenAI does the
same, and its SDKs raise BadRequestError for it); 422 is not used.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, g
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from quart_llm.errors import GatewayError, error_body
from quart_llm.observability.request_ids import current_request_id
from quart_llm.observability.request_record import RequestRecord
from quart_llm.web.responses import json_response

logger = logging.getLogger("quart_llm.errors")

_HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request_error", "invalid_json", "The request body is not valid JSON."),
    401: ("authentication_error", "invalid_api_key", "Authentication required."),
    403: ("permission_error", "forbidden", "Forbidden."),
    404: ("not_found_error", "not_found", "Unknown route."),
    405: ("invalid_request_error", "method_not_allowed", "Method not allowed on this route."),
    408: ("invalid_request_error", "request_timeout", "The request body arrived too slowly."),
    413: ("invalid_request_error", "request_too_large", "The request body is too large."),
    415: (
        "invalid_request_error",
        "unsupported_media_type",
        "Send the body as JSON with 'Content-Type: application/json'.",
    ),
    429: ("rate_limit_error", "rate_limit_exceeded", "Too many requests."),
}
_PASSED_HEADERS = frozenset({"retry-after", "allow", "www-authenticate"})
_SCALAR_LABELS = frozenset({"str", "int", "float", "bool", "bytes", "list", "dict", "none"})


def _note_error_code(code: str | None) -> None:
    """Tell the request's record (for its log line and metrics) which error it ended with."""
    record = g.get("record")
    if isinstance(record, RequestRecord):
        record.error_code = code


def _gateway_error_response(error: GatewayError) -> Response:
    _note_error_code(error.code)
    headers = dict(error.headers)
    if error.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="quart_llm"')
    return json_response(error.to_body(current_request_id.get()), error.status, headers)


def _describe_validation_error(error: ValidationError) -> tuple[str, str | None]:
    """A readable message and the `param` path of the first problem, without echoing input."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    parts: list[str] = []
    for problem in problems[:5]:
        location = _location(problem["loc"])
        parts.append(f"{location}: {problem['msg']}" if location else str(problem["msg"]))
    if len(problems) > 5:
        parts.append(f"and {len(problems) - 5} more")
    param = _location(problems[0]["loc"]) if problems else None
    return "Invalid request: " + "; ".join(parts), param or None


def _location(loc: tuple[Any, ...]) -> str:
    """The field path of a pydantic location, without the labels it adds for union members."""
    text = ""
    skip_tag = False
    for part in loc:
        if isinstance(part, str) and _is_union_label(part):
            skip_tag = skip_tag or "tagged-union[" in part
            continue
        if skip_tag and isinstance(part, str):
            skip_tag = False
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _is_union_label(part: str) -> bool:
    return part in _SCALAR_LABELS or part[:1].isupper() or any(c in part for c in "[',")


def register_error_handlers(app: Quart) -> None:
    """Answer every error of `app` in the OpenAI shape."""

    @app.errorhandler(GatewayError)
    async def handle_gateway_error(error: GatewayError) -> Response:
        return _gateway_error_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def handle_schema_error(error: RequestSchemaValidationError) -> Response:
        cause = error.validation_error
        if isinstance(cause, ValidationError):
            message, param = _describe_validation_error(cause)
        elif isinstance(cause, TypeError):
            message, param = "The request body must be a JSON object.", None
        else:
            message, param = "Invalid request body.", None
        _note_error_code("invalid_request")
        body = error_body(message, "invalid_request_error", "invalid_request", param)
        body["error"]["request_id"] = current_request_id.get()
        return json_response(body, 400)

    @app.errorhandler(HTTPException)
    async def handle_http_exception(error: HTTPException) -> Response:
        status = error.code or 500
        error_type, code, message = _HTTP_ERRORS.get(
            status, ("invalid_request_error", "http_error", error.name)
        )
        headers = {
            name: value for name, value in error.get_headers() if name.lower() in _PASSED_HEADERS
        }
        _note_error_code(code)
        body = error_body(message, error_type, code, None, current_request_id.get())
        return json_response(body, status, headers)

    @app.errorhandler(Exception)
    async def handle_unexpected(error: Exception) -> Response:
        request_id = current_request_id.get()
        logger.exception("unexpected error", extra={"quart_llm.request_id": request_id})
        _note_error_code("internal_error")
        body = error_body(
            "The server had an error while processing your request.",
            "server_error",
            "internal_error",
            None,
            request_id,
        )
        return json_response(body, 500)
