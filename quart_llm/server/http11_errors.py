"""The errors Hypercorn answers itself on HTTP/1.1 (a malformed request, headers too large),
in the gateway's JSON error shape instead of an empty body.

Hypercorn 0.18 answers them from `H11Protocol._send_error_response`, before any app sees the
request; a subclass that overrides it is installed where Hypercorn's `ProtocolWrapper` looks
the class up. Installing is idempotent, and both ways of serving pass through it (`create_app`
calls `install`).
"""

from __future__ import annotations

from itertools import chain

import h11
import hypercorn.protocol
import orjson
from hypercorn.protocol.h11 import H11Protocol

from quart_llm.errors import error_body

_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("The request is not valid HTTP/1.1.", "invalid_http_request"),
    408: ("The request arrived too slowly.", "request_timeout"),
    413: ("The request is too large.", "request_too_large"),
    414: ("The request target is too long.", "request_uri_too_long"),
    431: ("The request headers are too large.", "request_headers_too_large"),
}


class JSONErrorH11Protocol(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol, answering its own errors with a JSON error body."""

    async def _send_error_response(self, status_code: int) -> None:
        message, code = _MESSAGES.get(status_code, ("The request was refused.", "http_error"))
        body = orjson.dumps(error_body(message, "invalid_request_error", code))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"connection", b"close"),
        ]
        await self._send_h11_event(
            h11.Response(
                status_code=status_code,
                headers=list(chain(headers, self.config.response_headers("h11"))),
            )
        )
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())


def install() -> None:
    """Make Hypercorn's protocol wrapper use `JSONErrorH11Protocol` for HTTP/1.1."""
    setattr(hypercorn.protocol, "H11Protocol", JSONErrorH11Protocol)  # noqa: B010
