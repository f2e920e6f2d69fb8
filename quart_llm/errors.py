"""The gateway's exceptions, each one a defined HTTP answer in the OpenAI error shape.

    GatewayError                      any refusal or failure we answer ourselves
    ├── InvalidRequest (400)          bad input; `param` names the field
    ├── AuthenticationFailed (401)
    ├── PermissionDenied (403)        a valid key asked for what it may not (`model_not_allowed`)
    ├── ResourceNotFound (404)        an admin API object that does not exist
    ├── Conflict (409)                a change the object refuses (a key from settings)
    ├── RateLimited (429)             carries Retry-After and RateLimit headers
    ├── ServiceUnavailable (503)      the gateway itself cannot serve now (draining, Redis down)
    │   └── Overloaded (503)          ... because it is at capacity (`overloaded`)
    └── UpstreamError                 a provider failed; the message names the provider
        ├── UpstreamConnectError (503)    connection refused or reset before an answer
        ├── UpstreamTimeout (504)         connect, first byte, idle gap or total deadline
        ├── UpstreamStatusError           an HTTP error from the upstream, mapped to our status
        └── UpstreamProtocolError (502)   an answer that breaks the upstream's wire format

`error_body()` is the one place the OpenAI envelope is built (`to_body()` and the web layer's
handlers for Quart's own errors both use it), so every error the service returns has the same
four keys; `request_id` is added where one is known. `anthropic_error()` is the one place the
same error is put in Anthropic's envelope and statuses, for the Messages API's routes and
streams. The web layer turns each error into its HTTP answer; a stream that has started sends
it as one in-band event instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class GatewayError(Exception):
    """An error with a status, an OpenAI error type and a stable machine code."""

    status: int = 500
    error_type: str = "server_error"
    code: str | None = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type
        if code is not None:
            self.code = code
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        """This error in the OpenAI envelope."""
        return error_body(self.message, self.error_type, self.code, self.param, request_id)


def error_body(
    message: str,
    error_type: str,
    code: str | None,
    param: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The OpenAI error envelope: message, type, param and code are always present."""
    error: dict[str, Any] = {"message": message, "type": error_type, "param": param, "code": code}
    if request_id is not None:
        error["request_id"] = request_id
    return {"error": error}


ANTHROPIC_OVERLOADED = 529
"""Anthropic's status for "try again later": its API has no 503, so every 503 becomes it."""
_ANTHROPIC_TYPES = {
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    ANTHROPIC_OVERLOADED: "overloaded_error",
}


def anthropic_error(
    status: int, message: str, request_id: str | None = None
) -> tuple[int, dict[str, Any]]:
    """An error's status and body in Anthropic's shape: `{"type": "error", "error": {"type",
    "message"}, "request_id"}`, with Anthropic's statuses (529 `overloaded_error` for a 503)."""
    if status == 503:
        status = ANTHROPIC_OVERLOADED
    error_type = _ANTHROPIC_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return status, body


class InvalidRequest(GatewayError):
    """Bad input: the client must change the request; `param` names the field."""

    status = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class AuthenticationFailed(GatewayError):
    """No key, or one the gateway does not hold. The answer carries `WWW-Authenticate` and
    never repeats what was presented."""

    status = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(GatewayError):
    """The key is valid but may not do this (a model outside its allowed models)."""

    status = 403
    error_type = "permission_error"
    code = "permission_denied"


class ResourceNotFound(GatewayError):
    """The object named in the path does not exist."""

    status = 404
    error_type = "not_found_error"
    code = "not_found"


class Conflict(GatewayError):
    """The object exists but refuses the change (a read-only key from settings)."""

    status = 409
    error_type = "invalid_request_error"
    code = "conflict"


class RateLimited(GatewayError):
    """A quota refused the request: `Retry-After` and the limit's `RateLimit-*` headers say
    which one and when to come back."""

    status = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"


class ServiceUnavailable(GatewayError):
    """The gateway itself cannot serve now (draining, quota store down, a client too slow)."""

    status = 503
    error_type = "server_error"
    code = "service_unavailable"


class Overloaded(ServiceUnavailable):
    """The gateway itself is at capacity (its in-flight limit, a provider's connection limit):
    answered at once, never blamed on an upstream, never counted against one."""

    code = "overloaded"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "1"})
        super().__init__(message, **kwargs)


class UpstreamError(GatewayError):
    """A provider failed. `provider` is its configured name, never a URL or key.

    `retryable`: trying the same upstream again may well succeed (it never saw the request, or
    said so: 429, 502, 503, 504). `client_fault`: the request itself was refused (400, 404,
    413, 422), so neither a retry nor a fallback can help.
    """

    status = 502
    error_type = "upstream_error"
    code = "upstream_error"
    retryable = False
    unreachable = False
    """The provider could not be reached at all (refused, unresolvable, connect timeout): the
    provider failed, not a model's answer."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retryable: bool | None = None,
        unreachable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(f"provider {provider!r}: {message}", **kwargs)
        self.provider = provider
        self.detail = message
        if retryable is not None:
            self.retryable = retryable
        if unreachable is not None:
            self.unreachable = unreachable

    @property
    def client_fault(self) -> bool:
        """Whether the request itself was refused (no retry or fallback can help)."""
        return False

    @property
    def retry_after_seconds(self) -> float | None:
        """The upstream's `Retry-After`, in seconds, when it sent one."""
        value = self.headers.get("Retry-After", "")
        return float(value) if value.isdigit() else None


class UpstreamConnectError(UpstreamError):
    """The upstream could not be reached, or dropped the request before answering."""

    status = 503
    code = "upstream_unavailable"
    retryable = True
    unreachable = True


class UpstreamTimeout(UpstreamError):
    """An upstream wait ran out: connecting, the first token, a gap, or the deadline."""

    status = 504
    code = "upstream_timeout"


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an HTTP error; `upstream_status` is what it sent."""

    def __init__(self, provider: str, message: str, *, upstream_status: int, **kwargs: Any) -> None:
        status, error_type, code = _map_upstream_status(upstream_status)
        kwargs.setdefault("status", status)
        kwargs.setdefault("error_type", error_type)
        kwargs.setdefault("code", code)
        kwargs.setdefault("retryable", upstream_status in RETRYABLE_STATUSES)
        super().__init__(provider, message, **kwargs)
        self.upstream_status = upstream_status

    @property
    def client_fault(self) -> bool:
        """Whether the upstream refused the request as invalid (400, 404, 413, 422)."""
        return self.upstream_status in CLIENT_FAULT_STATUSES


class UpstreamProtocolError(UpstreamError):
    """An answer that breaks the upstream's wire format, or that broke off."""

    status = 502
    code = "upstream_protocol_error"


RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
CLIENT_FAULT_STATUSES = frozenset({400, 404, 413, 422})


def _map_upstream_status(upstream_status: int) -> tuple[int, str, str]:
    if upstream_status in (401, 403):
        return 502, "upstream_error", "upstream_authentication_failed"
    if upstream_status == 404:
        return 404, "not_found_error", "model_not_found"
    if upstream_status == 429:
        return 429, "rate_limit_error", "upstream_rate_limited"
    if upstream_status in (400, 413, 422):
        return 400, "invalid_request_error", "upstream_rejected_request"
    if upstream_status == 402:
        return 402, "insufficient_quota", "upstream_payment_required"
    if upstream_status in (408, 504, 524):
        return 504, "upstream_error", "upstream_timeout"
    if upstream_status == 503:
        return 503, "upstream_error", "upstream_unavailable"
    return 502, "upstream_error", "upstream_error"
