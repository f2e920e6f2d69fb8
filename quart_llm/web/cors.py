"""CORS, off unless `cors_origins` lists origins (or `*`).

Preflight requests carry no credentials, so they are answered here, before authentication;
actual requests still need their key.
"""

from __future__ import annotations

from collections.abc import Iterable

from quart import Request, Response

ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID, X-API-Key, Anthropic-Version"
EXPOSED_HEADERS = "X-Request-ID, X-Quart-LLM-Provider, Retry-After"
PREFLIGHT_MAX_AGE = "600"


class CORSPolicy:
    """The allowed origins, and the headers that tell browsers so."""

    def __init__(self, origins: Iterable[str]) -> None:
        self._origins = frozenset(origins)
        self._any = "*" in self._origins

    @property
    def enabled(self) -> bool:
        """Whether any origin is allowed."""
        return bool(self._origins)

    def allowed_origin(self, origin: str | None) -> str | None:
        """The `Access-Control-Allow-Origin` value for `origin`, or None."""
        if origin is None or not self._origins:
            return None
        if self._any:
            return "*"
        return origin if origin in self._origins else None

    def is_preflight(self, request: Request) -> bool:
        """Whether this is a browser's CORS preflight."""
        return (
            request.method == "OPTIONS"
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        )

    def preflight_response(self, request: Request) -> Response:
        """The answer to a preflight (without the CORS headers for an unknown origin)."""
        response = Response(b"", status=204)
        origin = self.allowed_origin(request.headers.get("Origin"))
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
            if origin != "*":
                response.headers["Vary"] = "Origin"
        return response

    def decorate(self, request: Request, response: Response) -> None:
        """Add the CORS headers of an allowed origin to an answer."""
        origin = self.allowed_origin(request.headers.get("Origin"))
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if origin != "*":
            response.headers.add("Vary", "Origin")
