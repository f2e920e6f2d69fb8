"""What runs around every request, in order: request id and record, CORS preflight, draining,
authentication, the body check; on the way out the common headers, and the end of the
request's record, the one place a record is finished: at once for whole answers, when the
stream has ended for streamed ones."""

from __future__ import annotations

import time
from functools import partial

from quart import Quart, Response, g, request
from werkzeug.exceptions import UnsupportedMediaType

from quart_llm.observability.request_ids import (
    REQUEST_ID_HEADER,
    choose_request_id,
    current_request_id,
)
from quart_llm.observability.request_record import RequestRecord
from quart_llm.services.chat_streaming import EventStream
from quart_llm.services.container import Services
from quart_llm.web.auth import authenticate, is_public
from quart_llm.web.cors import CORSPolicy
from quart_llm.web.request_body import read_json_body
from quart_llm.web.responses import EVENT_STREAM_KEY, add_missing_headers
from quart_llm.web.security_headers import SECURITY_HEADERS

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HEALTH_ENDPOINT = "health.get_health"
OVERHEAD_HEADER = "X-Quart-LLM-Overhead-Ms"


def install_request_hooks(app: Quart, services: Services) -> None:
    """Register the hooks on `app`, first in line (before any extension's)."""
    cors = CORSPolicy(services.settings.cors_origins)

    @app.before_request
    async def identify_and_authenticate() -> Response | None:
        request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER), services.ids)
        current_request_id.set(request_id)
        g.record = RequestRecord(
            request_id=request_id,
            method=request.method,
            route=request.url_rule.rule if request.url_rule is not None else "unmatched",
            started=time.perf_counter(),
        )
        if cors.enabled and cors.is_preflight(request):
            return cors.preflight_response(request)
        if request.routing_exception is not None or request.endpoint is None:
            return None
        if request.endpoint != HEALTH_ENDPOINT:
            services.drainer.refuse_if_draining()
        if not is_public(request.endpoint, app.view_functions[request.endpoint]):
            g.principal = authenticate(services.keyring, request.headers.get("Authorization"))
            g.record.key_id = g.principal.key_id
        if request.method in BODY_METHODS:
            if request.mimetype != "application/json":
                raise UnsupportedMediaType()
            await read_json_body(request, services.settings.max_body_bytes)
        return None

    @app.after_request
    async def add_common_headers(response: Response) -> Response:
        record = g.get("record")
        if isinstance(record, RequestRecord):
            record.status = response.status_code
            stream = g.get(EVENT_STREAM_KEY)
            if isinstance(stream, EventStream):
                stream.on_close.append(partial(record.finish, services.metrics))
            else:
                ended = time.perf_counter()
                record.gateway_seconds = record.overhead_seconds(ended)
                response.headers[OVERHEAD_HEADER] = f"{record.gateway_seconds * 1000:.3f}"
                record.finish(services.metrics, ended)
        request_id = current_request_id.get()
        if request_id is not None:
            response.headers[REQUEST_ID_HEADER] = request_id
        add_missing_headers(response.headers, SECURITY_HEADERS)
        cors.decorate(request, response)
        return response
