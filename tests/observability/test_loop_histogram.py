from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from quart_llm.observability.loop_histogram import LoopHistogram

BUCKETS = (0.001, 0.01, 0.1, 1)
VALUES = (0.0, 0.001, 0.0010001, 0.05, 0.1, 0.5, 1, 7, 1e9)


def without_created(exposition: bytes) -> list[str]:
    return [line for line in exposition.decode().splitlines() if "_created" not in line]


def test_exposition_matches_prometheus_clients_histogram() -> None:
    theirs_registry, ours_registry = CollectorRegistry(), CollectorRegistry()
    theirs = Histogram("gap", "Gaps.", ["provider"], buckets=BUCKETS, registry=theirs_registry)
    ours = LoopHistogram("gap", "Gaps.", ["provider"], buckets=BUCKETS, registry=ours_registry)
    for provider in ("a", "b"):
        for value in VALUES:
            theirs.labels(provider).observe(value)
            ours.labels(provider).observe(value)
    assert without_created(generate_latest(ours_registry)) == without_created(
        generate_latest(theirs_registry)
    )
    created = [
        line for line in generate_latest(ours_registry).decode().splitlines() if "_created{" in line
    ]
    assert len(created) == 2


def test_wrong_label_count_is_refused() -> None:
    histogram = LoopHistogram("x", "X.", ["a", "b"], buckets=BUCKETS, registry=CollectorRegistry())
    with pytest.raises(ValueError, match="takes labels"):
        histogram.labels("only-one")


def test_names_are_unique_within_a_registry() -> None:
    registry = CollectorRegistry()
    LoopHistogram("x", "X.", [], buckets=BUCKETS, registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Histogram("x", "X.", registry=registry)
