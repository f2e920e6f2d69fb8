"""A labelled Prometheus histogram for values observed on the event loop only.

prometheus_client's Histogram takes a lock and walks its buckets in Python objects on every
observation; the chunk-gap histogram is observed once per streamed event, which the benchmark
showed as several percent of a stream's cost. Everything here is observed from the event loop
(and scraped there, by the /metrics route), so plain integers suffice. The exposition is the
same as prometheus_client's (`_bucket`, `_count`, `_sum`, `_created`); a test compares them.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from typing import cast

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

_go_float = cast(Callable[[float], str], floatToGoString)
"""How prometheus_client writes `le` (the library leaves it untyped)."""


class LoopHistogramChild:
    """The buckets, sum and creation time of one label set."""

    __slots__ = ("counts", "created", "sum", "upper_bounds")

    def __init__(self, upper_bounds: Sequence[float]) -> None:
        self.upper_bounds = upper_bounds
        self.counts = [0] * (len(upper_bounds) + 1)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        """Count one value."""
        self.counts[bisect_left(self.upper_bounds, value)] += 1
        self.sum += value


class LoopHistogram(Collector):
    """A histogram family with labels, exposed as prometheus_client's would be."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.upper_bounds = tuple(sorted(float(bound) for bound in buckets))
        self._children: dict[tuple[str, ...], LoopHistogramChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> LoopHistogramChild:
        """The child for these label values (made on first use)."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = LoopHistogramChild(self.upper_bounds)
        return child

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        bounds = [_go_float(bound) for bound in self.upper_bounds] + ["+Inf"]
        for values, child in list(self._children.items()):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(bounds, child.counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            family.add_metric(list(values), buckets, child.sum, timestamp=None)
            family.add_sample(
                self.name + "_created",
                dict(zip(self.labelnames, values, strict=True)),
                child.created,
            )
        return [family]
