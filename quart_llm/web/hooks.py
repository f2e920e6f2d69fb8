"""What runs around every request, in order: request id and record, CORS preflight, draining,
authentication, the body check; on the way out the common headers; and the end of the
request's record, finished exactly once, here: when the request is torn down, or when its
stream has ended and been accounted for. A request whose client went away before it was
answered (its task cancelled) is finished as `client_gone` with status 499. A request an API
key made to do work (`services.usage_records.is_metered`) hands its finished record to the
usage recorder then, which only appends it to a list: the database is written elsewhere.

The gateway answers no redirect, and serves a route only at its own path. werkzeug's routing
would answer 308 for a path it normalises (`/v1//usage`, a missing trailing slash), with a
`Location` built from the client's `Host` header, before any key is checked (Quart sends
such a routing redirect as it is, past the error handlers), and it serves `//v1/usage` as
`/v1/usage`. Here every routing redirect, and every path with an empty segment, is a 404 in
the OpenAI shape instead."""

from __future__ import annotations

import asyncio
import time

from quart import Quart, Response, g, request
from werkzeug.exceptions import NotFound, UnsupportedMediaType
from werkzeug.routing import RequestRedirect

from quart_llm.errors import AuthenticationFailed
from quart_llm.observability.request_ids import (
    REQUEST_ID_HEADER,
    choose_request_id,
    current_request_id,
)
from quart_llm.observability.request_record import RequestRecord
from quart_llm.services.chat_streaming import EventStream
from quart_llm.services.container import Services
from quart_llm.services.keys import Authenticator, Principal
from quart_llm.services.usage_records import is_metered
from quart_llm.web.auth import API_KEY_HEADER, authenticate, is_admin, is_public
from quart_llm.web.cors import CORSPolicy
from quart_llm.web.request_body import read_json_body
from quart_llm.web.responses import EVENT_STREAM_KEY, add_missing_headers
from quart_llm.web.security_headers import SECURITY_HEADERS

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HEALTH_ENDPOINTS = frozenset({"health.get_health", "health.get_liveness", "health.get_readiness"})
"""Answered while draining too (they report it themselves)."""
OVERHEAD_HEADER = "X-Quart-LLM-Overhead-Ms"
TRACE_HEADERS = ("traceparent", "tracestate")
"""The W3C trace context a client may send (`tracing.Tracing.start_request` reads them)."""
CLIENT_GONE_STATUS = 499
"""What the record of a request abandoned before its answer says (nginx's code for it)."""


class RequestHooks:
    """The hooks of one app, installed first in line (before any extension's)."""

    def __init__(self, app: Quart, services: Services) -> None:
        self.app = app
        self.services = services
        self.cors = CORSPolicy(services.settings.cors_origins)
        app.before_request(self.identify_and_authenticate)
        app.after_request(self.add_common_headers)
        app.teardown_request(self.finish_record)

    async def identify_and_authenticate(self) -> Response | None:
        """Name the request, open its record, then refuse what must not go further."""
        request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER), self.services.ids)
        current_request_id.set(request_id)
        g.record = self._open_record(request_id)
        if isinstance(request.routing_exception, RequestRedirect) or _has_empty_segment():
            raise NotFound()
        if self.cors.enabled and self.cors.is_preflight(request):
            return self.cors.preflight_response(request)
        if request.routing_exception is not None or request.endpoint is None:
            return None
        if request.endpoint not in HEALTH_ENDPOINTS:
            self.services.drainer.refuse_if_draining()
        view = self.app.view_functions[request.endpoint]
        if is_admin(view, request.url_rule.rule if request.url_rule is not None else None):
            g.admin = await self._authenticate(self.services.admin_keyring)
            g.record.key_id = g.admin.key_id
        elif not is_public(request.endpoint, view):
            g.principal = await self._authenticate(self.services.keys)
            g.record.key_id = g.principal.key_id
        if request.method in BODY_METHODS:
            if request.mimetype != "application/json":
                raise UnsupportedMediaType()
            await read_json_body(request, self.services.settings.max_body_bytes)
        return None

    def _open_record(self, request_id: str) -> RequestRecord:
        """The request's record, and its server span when tracing is on."""
        record = RequestRecord(
            request_id=request_id,
            method=request.method,
            route=request.url_rule.rule if request.url_rule is not None else "unmatched",
            started=time.perf_counter(),
            path=request.path,
            client=request.remote_addr,
            user_agent=request.headers.get("User-Agent"),
            http_version=request.http_version,
        )
        tracing = self.services.tracing
        if tracing is not None:
            record.trace = tracing.start_request(
                record.method,
                record.route,
                {name: request.headers[name] for name in TRACE_HEADERS if name in request.headers},
                {
                    "http.request.method": record.method,
                    "http.route": None if record.route == "unmatched" else record.route,
                    "url.path": record.path,
                    "url.scheme": request.scheme,
                    "network.protocol.version": record.http_version,
                    "client.address": record.client,
                    "user_agent.original": record.user_agent,
                    "quart_llm.request_id": request_id,
                },
            )
        return record

    async def _authenticate(self, keyring: Authenticator) -> Principal:
        """The caller; a client address that keeps failing gets 429s instead of 401s."""
        try:
            return authenticate(
                keyring, request.headers.get("Authorization"), request.headers.get(API_KEY_HEADER)
            )
        except AuthenticationFailed:
            await self.services.quotas.count_failed_authentication(request.remote_addr or "unknown")
            raise

    async def add_common_headers(self, response: Response) -> Response:
        """Request id, security and CORS headers; the gateway's own time on whole answers."""
        record = g.get("record")
        if isinstance(record, RequestRecord):
            record.status = response.status_code
            if not isinstance(g.get(EVENT_STREAM_KEY), EventStream):
                record.gateway_seconds = record.overhead_seconds(time.perf_counter())
                response.headers[OVERHEAD_HEADER] = f"{record.gateway_seconds * 1000:.3f}"
        request_id = current_request_id.get()
        if request_id is not None:
            response.headers[REQUEST_ID_HEADER] = request_id
        add_missing_headers(response.headers, SECURITY_HEADERS)
        self.cors.decorate(request, response)
        return response

    async def finish_record(self, error: BaseException | None) -> None:
        """Finish the record, or hand it to the stream that answers (it ends with the stream)."""
        record = g.get("record")
        if not isinstance(record, RequestRecord) or record.finished:
            return
        principal = g.get("principal")
        metered = is_metered(request.method, principal.key_id if principal else None)
        stream = g.get(EVENT_STREAM_KEY)
        if isinstance(stream, EventStream) and record.status:
            stream.on_close.append(lambda: self._finish(record, metered))
            return
        if isinstance(error, asyncio.CancelledError) and not record.status:
            record.status = CLIENT_GONE_STATUS
            record.outcome = record.outcome or "client_gone"
        self._finish(record, metered)

    def _finish(self, record: RequestRecord, metered: bool) -> None:
        """The one end of a record: metrics, log line, spans, and its usage record."""
        record.finish(self.services.metrics)
        if metered:
            self.services.usage.add(record)


def _has_empty_segment() -> bool:
    """Whether the path as sent has `//` in it (werkzeug strips leading ones from
    `request.path`, so the server's own value is read)."""
    return "//" in str(request.scope.get("path", ""))
