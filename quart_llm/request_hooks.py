"""What runs around every request: request id and record, CORS preflight, draining,
authentication, the body check, and on the way out the common headers and the request's log
line and metrics (streams finish theirs when they end)."""

from __future__ import annotations

import time

from quart import Quart, Response, g, request
from werkzeug.exceptions import UnsupportedMediaType

from quart_llm.auth import is_public
from quart_llm.cors import CORSPolicy
from quart_llm.gateway import Gateway
from quart_llm.observability.request_record import RequestRecord
from quart_llm.request_body import read_json_body
from quart_llm.request_ids import REQUEST_ID_HEADER, choose_request_id, current_request_id
from quart_llm.responses import add_missing_headers
from quart_llm.security_headers import SECURITY_HEADERS

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
HEALTH_ENDPOINT = "health.get_health"
OVERHEAD_HEADER = "X-Quart-LLM-Overhead-Ms"


def install_request_hooks(app: Quart, gateway: Gateway) -> None:
    cors = CORSPolicy(gateway.settings.cors_origins)

    @app.before_request
    async def identify_and_authenticate() -> Response | None:
        request_id = choose_request_id(request.headers.get(REQUEST_ID_HEADER), gateway.ids)
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
            gateway.drainer.refuse_if_draining()
        view = app.view_functions[request.endpoint]
        if not is_public(request.endpoint, view):
            g.principal = gateway.keyring.authenticate(request.headers.get("Authorization"))
            g.record.key_id = g.principal.key_id
        if request.method in BODY_METHODS:
            if request.mimetype != "application/json":
                raise UnsupportedMediaType()
            await read_json_body(request, gateway.settings.max_body_bytes)
        return None

    @app.after_request
    async def add_common_headers(response: Response) -> Response:
        record = g.get("record")
        if isinstance(record, RequestRecord):
            record.status = response.status_code
            if not record.streamed:
                ended = time.perf_counter()
                overhead_ms = record.overhead_seconds(ended) * 1000
                response.headers[OVERHEAD_HEADER] = f"{overhead_ms:.3f}"
                record.finish(gateway.metrics, ended)
        request_id = current_request_id.get()
        if request_id is not None:
            response.headers[REQUEST_ID_HEADER] = request_id
        add_missing_headers(response.headers, SECURITY_HEADERS)
        cors.decorate(request, response)
        return response
