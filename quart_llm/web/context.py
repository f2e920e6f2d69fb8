"""What a request handler reaches through the app and the request: the services, the record."""

from __future__ import annotations

from quart import current_app, g

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
