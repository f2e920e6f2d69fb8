"""CORS, off unless `cors_origins` lists origins (or `*`).

Preflight requests carry no credentials, so they are answered here, before authentication;
actual requests still need their key.
"""

from __future__ import annotations

from collections.abc import Iterable

from quart import Request, Response

ALLOWED_HEADERS = "Authorization, Content-Type, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, X-Quart-LLM-Provider, Retry-After"
PREFLIGHT_MAX_AGE = "600"


class CORSPolicy:
    def __init__(self, origins: Iterable[str]) -> None:
        self._origins = frozenset(origins)
        self._any = "*" in self._origins

    @property
    def enabled(self) -> bool:
        return bool(self._origins)

    def allowed_origin(self, origin: str | None) -> str | None:
        if origin is None or not self._origins:
            return None
        if self._any:
            return "*"
        return origin if origin in self._origins else None

    def is_preflight(self, request: Request) -> bool:
        return (
            request.method == "OPTIONS"
            and "Origin" in request.headers
            and "Access-Control-Request-Method" in request.headers
        )

    def preflight_response(self, request: Request) -> Response:
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
        origin = self.allowed_origin(request.headers.get("Origin"))
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if origin != "*":
            response.headers.add("Vary", "Origin")
