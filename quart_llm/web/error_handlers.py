"""Every error leaves the service as JSON in its route's API shape, never as HTML or a traceback.

The shape is OpenAI's, except on the routes marked `anthropic_errors` (the Messages API),
whose errors are Anthropic's envelope and statuses (`errors.anthropic_error`): the same error,
told the way that route's SDK reads it. 400 is the status for every invalid request, schema
violations included (OpenAI does the same, and its SDKs raise BadRequestError for it); 422 is
not used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, current_app, g, request
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from quart_llm.errors import GatewayError, anthropic_error, error_body
from quart_llm.observability.request_ids import current_request_id
from quart_llm.observability.request_record import RequestRecord
from quart_llm.schemas.validation_messages import describe_validation_error
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
ANTHROPIC_ERRORS_ATTRIBUTE = "_quart_llm_anthropic_errors"


def anthropic_errors[F: Callable[..., Any]](func: F) -> F:
    """Mark a route whose errors are told in Anthropic's shape (the Messages API's routes)."""
    setattr(func, ANTHROPIC_ERRORS_ATTRIBUTE, True)
    return func


def _speaks_anthropic() -> bool:
    """Whether the current request's route tells its errors in Anthropic's shape."""
    endpoint = request.endpoint
    view = current_app.view_functions.get(endpoint) if endpoint is not None else None
    return bool(getattr(view, ANTHROPIC_ERRORS_ATTRIBUTE, False))


def _error_response(
    body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> Response:
    """The answer for an error in the OpenAI envelope `body`, in its route's shape."""
    if _speaks_anthropic():
        error = body["error"]
        status, body = anthropic_error(status, error["message"], error.get("request_id"))
    return json_response(body, status, headers)


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
    return _error_response(error.to_body(current_request_id.get()), error.status, headers)


def register_error_handlers(app: Quart) -> None:
    """Answer every error of `app` in its route's shape."""

    @app.errorhandler(GatewayError)
    async def handle_gateway_error(error: GatewayError) -> Response:
        return _gateway_error_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def handle_schema_error(error: RequestSchemaValidationError) -> Response:
        cause = error.validation_error
        if isinstance(cause, ValidationError):
            message, param = describe_validation_error(cause)
        elif isinstance(cause, TypeError):
            message, param = "The request body must be a JSON object.", None
        else:
            message, param = "Invalid request body.", None
        _note_error_code("invalid_request")
        body = error_body(
            message, "invalid_request_error", "invalid_request", param, current_request_id.get()
        )
        return _error_response(body, 400)

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
        return _error_response(body, status, headers)

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
        return _error_response(body, 500)
