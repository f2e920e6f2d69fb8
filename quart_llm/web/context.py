"""What a request handler reaches through the app and the request: the services, the record."""

from __future__ import annotations

from typing import Any, cast

from quart import Request, current_app, g, request
from quart.ctx import _AppCtxGlobals

from quart_llm.observability.request_record import RequestRecord
from quart_llm.services.container import Services

SERVICES_KEY = "quart_llm"


def current_services() -> Services:
    """The services of the app serving the current request."""
    services = current_app.extensions[SERVICES_KEY]
    if not isinstance(services, Services):
        raise RuntimeError("the quart_llm services are not installed on this app")
    return services


def current_record() -> RequestRecord:
    """The record of the request being served (created by the app's first request hook)."""
    record = g.get("record")
    if not isinstance(record, RequestRecord):
        raise RuntimeError("no request record: the app's request hooks are not installed")
    return record


def current_request() -> Request:
    """The request itself rather than Quart's proxy to it. Every read through the proxy looks
    the request up again (a context variable and two calls, about 1 µs): a hook that reads a
    dozen of its fields takes it once."""
    return cast(Request, cast(Any, request)._get_current_object())


def request_globals() -> _AppCtxGlobals:
    """`g` itself rather than its proxy (see `current_request`)."""
    return cast(_AppCtxGlobals, cast(Any, g)._get_current_object())
