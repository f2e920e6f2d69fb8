"""Tracing turned on the standard way (`OTEL_*` variables) in a real gateway process, its
spans exported over OTLP/HTTP to a real receiver on loopback; and when the variables turn it
on or off."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from quart_llm.config.models import TracingSettings
from quart_llm.observability.tracing import tracing_wanted
from tests.conftest import AUTH
from tests.support.gateway_process import GatewayProcess


class OTLPReceiver:
    """An OTLP/HTTP traces endpoint (protobuf), keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Any]] = []
        """(resource attributes, span) pairs, as received."""
        self.content_types: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.content_types.append(self.headers["Content-Type"])
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                for resource_spans in export.resource_spans:
                    resource = attributes(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans += [(resource, span) for span in scope_spans.spans]
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def attributes(pairs: Any) -> dict[str, Any]:
    """OTLP key-values as a dict of plain values."""
    found: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        value = pair.value
        kind = value.WhichOneof("value")
        found[pair.key] = getattr(value, kind) if kind is not None else None
    return found


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    with OTLPReceiver() as running:
        yield running


def test_spans_reach_a_collector_and_the_log_line_names_the_trace(
    receiver: OTLPReceiver,
) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    gateway = GatewayProcess({"logging": {"format": "json"}}, env)
    trace_id = secrets.token_hex(16)
    try:
        gateway.start()
        gateway.wait_ready()
        response = httpx.post(
            f"{gateway.base_url}/v1/chat/completions",
            headers={**AUTH, "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
            json={"model": "mock-1", "messages": [{"role": "user", "content": "Hi"}]},
            timeout=30,
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            mine = [(r, s) for r, s in receiver.spans if s.trace_id.hex() == trace_id]
            if len(mine) >= 2:
                break
            time.sleep(0.05)
        gateway.stop()
        output = gateway.output()
    finally:
        gateway.close()
    assert set(receiver.content_types) == {"application/x-protobuf"}
    by_name = {span.name: (resource, span) for resource, span in mine}
    assert set(by_name) == {"POST /v1/chat/completions", "chat mock-1"}
    resource, server = by_name["POST /v1/chat/completions"]
    assert resource["service.name"] == "quart-llm"
    _, attempt = by_name["chat mock-1"]
    assert attempt.parent_span_id == server.span_id
    assert attributes(attempt.attributes)["gen_ai.usage.output_tokens"] > 0
    access = [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and '"scope":"quart_llm.access"' in line
    ]
    (chat_line,) = [line for line in access if line["http.route"] == "/v1/chat/completions"]
    assert chat_line["trace_id"] == trace_id
    assert chat_line["span_id"] == server.span_id.hex()


@pytest.mark.parametrize(
    ("enabled", "environ", "wanted"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        (False, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        (False, {"OTEL_TRACES_EXPORTER": "otlp"}, True),
        (False, {"OTEL_TRACES_EXPORTER": "console"}, False),
        (True, {"OTEL_TRACES_EXPORTER": "none"}, False),
        (True, {"OTEL_SDK_DISABLED": "true"}, False),
        (False, {"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
    ],
)
def test_the_settings_and_the_standard_variables_turn_tracing_on_or_off(
    enabled: bool, environ: dict[str, str], wanted: bool
) -> None:
    assert tracing_wanted(TracingSettings(enabled=enabled), environ) is wanted
