"""OpenTelemetry traces: a server span per request, a client span per upstream attempt.

Off by default, and then none of this runs: no span is made, no header goes upstream, log
lines carry no trace ids. On when `tracing.enabled` is true or the standard variables ask for
it (`OTEL_TRACES_EXPORTER=otlp`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), unless `OTEL_SDK_DISABLED=true` or
`OTEL_TRACES_EXPORTER=none` say no.

Spans follow the HTTP and GenAI semantic conventions. The server span (`POST
/v1/chat/completions`) continues the client's `traceparent`. Each upstream attempt, retries and
fallbacks included, is a client span (`chat llama3.2`) under it, numbered
(`quart_llm.attempt`, `quart_llm.fallback`), and the upstream is sent its `traceparent`. The
span of the attempt that answered ends with the upstream's answer; for a stream, when the
stream ends, with its usage and time to first chunk. The request's record ends the spans
(`RequestTrace.end`), once, with what it learnt.

Each app has its own `TracerProvider`, never the global one: a process may hold several apps
(the tests do), and a host application's own tracing is left alone. Spans are exported in
batches by the SDK's thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from quart_llm.config.models import TracingSettings
from quart_llm.observability.request_trace import RequestTrace, defined


def tracing_wanted(settings: TracingSettings, environ: Mapping[str, str]) -> bool:
    """Whether to trace: the setting, or the standard variables, unless they turn it off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    return (
        settings.enabled
        or "otlp" in exporters.split(",")
        or bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
        or bool(environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    )


class Tracing:
    """The tracer of one app, its exporter and the propagation of trace context."""

    def __init__(
        self,
        settings: TracingSettings,
        version: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self.capture_content = settings.capture_content
        self.provider = TracerProvider(
            resource=_resource(settings, version, environ), sampler=_sampler(settings, environ)
        )
        exporter = _exporter(settings)
        if exporter is not None:
            self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("quart_llm", version)
        self._propagator = TraceContextTextMapPropagator()

    def start_request(
        self, method: str, route: str, headers: Mapping[str, str], attributes: dict[str, Any]
    ) -> RequestTrace:
        """Open the server span of a request, under the client's `traceparent` if it sent a
        valid one, and make it the current span of the request's task."""
        parent = self._propagator.extract(headers)
        name = method if route == "unmatched" else f"{method} {route}"
        span = self.tracer.start_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=defined(attributes)
        )
        otel_context.attach(trace.set_span_in_context(span))
        return RequestTrace(self.tracer, span, self.headers_for, self.capture_content)

    def headers_for(self, span: Span) -> tuple[tuple[bytes, bytes], ...]:
        """The trace context headers that make `span` the parent of what they reach."""
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier, context=trace.set_span_in_context(span))
        return tuple(
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in carrier.items()
        )

    async def shutdown(self) -> None:
        """Export what is left and stop (in a thread: the exporter's calls block)."""
        await asyncio.to_thread(self.provider.shutdown)


def _resource(settings: TracingSettings, version: str, environ: Mapping[str, str]) -> Resource:
    """`service.name` from the settings unless `OTEL_SERVICE_NAME` or
    `OTEL_RESOURCE_ATTRIBUTES` name it (the SDK reads those), and `service.version`."""
    attributes: dict[str, AttributeValue] = {"service.version": version}
    named = environ.get("OTEL_SERVICE_NAME") or "service.name=" in environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    if not named:
        attributes["service.name"] = settings.service_name
    return Resource.create(attributes)


def _sampler(settings: TracingSettings, environ: Mapping[str, str]) -> Sampler | None:
    """The client's sampled flag followed, new traces kept at `sample_ratio`; None lets the
    SDK read `OTEL_TRACES_SAMPLER`."""
    if environ.get("OTEL_TRACES_SAMPLER"):
        return None
    return ParentBased(TraceIdRatioBased(settings.sample_ratio))


def _exporter(settings: TracingSettings) -> SpanExporter | None:
    """OTLP over HTTP (protobuf), the console (development), or none."""
    if settings.exporter == "none":
        return None
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = str(settings.endpoint) if settings.endpoint is not None else None
    return OTLPSpanExporter(endpoint=endpoint)
