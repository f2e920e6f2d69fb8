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

from quart import Quart, Request, Response
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
from quart_llm.web.context import current_request, request_globals
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
        """Name the request, open its record, then refuse what must not go further. The
        request and `g` are taken once (`web.context`): this runs on every request."""
        req = current_request()
        globals_ = request_globals()
        request_id = choose_request_id(req.headers.get(REQUEST_ID_HEADER), self.services.ids)
        current_request_id.set(request_id)
        record = globals_.record = self._open_record(req, request_id)
        routing_exception = req.routing_exception
        if isinstance(routing_exception, RequestRedirect) or _has_empty_segment(req):
            raise NotFound()
        if self.cors.enabled and self.cors.is_preflight(req):
            return self.cors.preflight_response(req)
        endpoint = req.endpoint
        if routing_exception is not None or endpoint is None:
            return None
        if endpoint not in HEALTH_ENDPOINTS:
            self.services.drainer.refuse_if_draining()
        view = self.app.view_functions[endpoint]
        rule = req.url_rule
        if is_admin(view, rule.rule if rule is not None else None):
            globals_.admin = await self._authenticate(req, self.services.admin_keyring)
            record.key_id = globals_.admin.key_id
        elif not is_public(endpoint, view):
            globals_.principal = await self._authenticate(req, self.services.keys)
            record.key_id = globals_.principal.key_id
        if req.method in BODY_METHODS:
            if req.mimetype != "application/json":
                raise UnsupportedMediaType()
            await read_json_body(req, self.services.settings.max_body_bytes)
        return None

    def _open_record(self, req: Request, request_id: str) -> RequestRecord:
        """The request's record, and its server span when tracing is on."""
        rule = req.url_rule
        headers = req.headers
        record = RequestRecord(
            request_id=request_id,
            method=req.method,
            route=rule.rule if rule is not None else "unmatched",
            started=time.perf_counter(),
            path=req.path,
            client=req.remote_addr,
            user_agent=headers.get("User-Agent"),
            http_version=req.http_version,
        )
        tracing = self.services.tracing
        if tracing is not None:
            record.trace = tracing.start_request(
                record.method,
                record.route,
                {name: headers[name] for name in TRACE_HEADERS if name in headers},
                {
                    "http.request.method": record.method,
                    "http.route": None if record.route == "unmatched" else record.route,
                    "url.path": record.path,
                    "url.scheme": req.scheme,
                    "network.protocol.version": record.http_version,
                    "client.address": record.client,
                    "user_agent.original": record.user_agent,
                    "quart_llm.request_id": request_id,
                },
            )
        return record

    async def _authenticate(self, req: Request, keyring: Authenticator) -> Principal:
        """The caller; a client address that keeps failing gets 429s instead of 401s."""
        headers = req.headers
        try:
            return authenticate(keyring, headers.get("Authorization"), headers.get(API_KEY_HEADER))
        except AuthenticationFailed:
            await self.services.quotas.count_failed_authentication(req.remote_addr or "unknown")
            raise

    async def add_common_headers(self, response: Response) -> Response:
        """Request id, security and CORS headers; the gateway's own time on whole answers."""
        globals_ = request_globals()
        record = globals_.get("record")
        headers = response.headers
        if isinstance(record, RequestRecord):
            record.status = response.status_code
            if not isinstance(globals_.get(EVENT_STREAM_KEY), EventStream):
                record.gateway_seconds = record.overhead_seconds(time.perf_counter())
                headers[OVERHEAD_HEADER] = f"{record.gateway_seconds * 1000:.3f}"
        request_id = current_request_id.get()
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        add_missing_headers(headers, SECURITY_HEADERS)
        if self.cors.enabled:
            self.cors.decorate(current_request(), response)
        return response

    async def finish_record(self, error: BaseException | None) -> None:
        """Finish the record, or hand it to the stream that answers (it ends with the stream)."""
        globals_ = request_globals()
        record = globals_.get("record")
        if not isinstance(record, RequestRecord) or record.finished:
            return
        principal = globals_.get("principal")
        metered = is_metered(record.method, principal.key_id if principal else None)
        stream = globals_.get(EVENT_STREAM_KEY)
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


def _has_empty_segment(req: Request) -> bool:
    """Whether the path as sent has `//` in it (werkzeug strips leading ones from
    `request.path`, so the server's own value is read)."""
    return "//" in str(req.scope.get("path", ""))
