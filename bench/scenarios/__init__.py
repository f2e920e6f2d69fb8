"""The scenarios, in the order they run; each appends rows and raises BenchError on errors."""

from __future__ import annotations

from collections.abc import Callable

from bench.context import Context
from bench.report import Row
from bench.scenarios import (
    http2,
    latency,
    memory,
    paced,
    startup,
    streams,
    surfaces,
    throughput,
    tracing,
)

Scenario = Callable[[Context, list[Row]], None]

SCENARIO_RUNNERS: dict[str, tuple[str, Scenario]] = {
    "startup": (startup.LABEL, startup.run),
    "latency": (latency.LABEL, latency.run),
    "throughput": (throughput.LABEL, throughput.run),
    "streams": (streams.LABEL, streams.run),
    "http2": (http2.LABEL, http2.run),
    "paced": (paced.LABEL, paced.run),
    "memory": (memory.LABEL, memory.run),
    "tracing": (tracing.LABEL, tracing.run),
    "surfaces": (surfaces.LABEL, surfaces.run),
}
