"""The issue's targets judged against the floor's figures of the same run."""

from __future__ import annotations

from bench.floor_targets import (
    IDLE_MEMORY,
    LATENCY,
    NOT_MEASURED,
    PACED,
    STREAMED,
    SURFACE_STREAMED,
    SURFACE_WHOLE,
    WHOLE,
    evaluate,
    figure,
    render_targets,
)
from bench.report import MISS, PASS


def _by_target(figures: dict[str, float]) -> dict[str, str]:
    return {result.target: result.result for result in evaluate(figures)}


def test_each_target_passes_or_misses_at_its_rule() -> None:
    figures = {
        figure(WHOLE, "floor"): 1000.0,
        figure(WHOLE, "gateway"): 920.0,
        figure(STREAMED, "floor"): 1000.0,
        figure(STREAMED, "gateway"): 849.0,
        figure(PACED, "floor"): 300.0,
        figure(PACED, "gateway"): 300.0,
        figure(IDLE_MEMORY, "floor"): 45.0,
        figure(IDLE_MEMORY, "gateway"): 51.5,
        figure(LATENCY, "floor"): 0.50,
        figure(LATENCY, "gateway"): 0.64,
        figure(SURFACE_WHOLE, "chat"): 1099.0,
        figure(SURFACE_WHOLE, "messages"): 1000.0,
        figure(SURFACE_WHOLE, "responses"): 990.0,
        figure(SURFACE_STREAMED, "chat"): 500.0,
        figure(SURFACE_STREAMED, "messages"): 600.0,
    }
    results = _by_target(figures)
    assert results["1 whole answers c=32"] == PASS
    assert results["2 streamed answers c=32"] == MISS
    assert results["3 paced stall-free N"] == PASS
    assert results["4 memory per idle stream"] == MISS
    assert results["5 added latency p50 c=1"] == PASS
    assert results["6 messages whole vs chat whole"] == PASS
    assert results["6 responses whole vs chat whole"] == MISS
    assert results["6 messages streamed vs chat streamed"] == PASS
    assert results["6 responses streamed vs chat streamed"] == NOT_MEASURED
    assert results["6 embeddings whole vs chat whole"] == NOT_MEASURED


def test_a_target_without_the_floor_is_not_measured_never_a_pass() -> None:
    results = _by_target({figure(WHOLE, "gateway"): 5000.0})
    assert results["1 whole answers c=32"] == NOT_MEASURED


def test_paced_streams_against_a_floor_stall_free_at_no_rung_prove_nothing() -> None:
    results = _by_target({figure(PACED, "floor"): 0.0, figure(PACED, "gateway"): 0.0})
    assert results["3 paced stall-free N"].startswith(NOT_MEASURED)


def test_the_section_has_one_line_per_target() -> None:
    results = evaluate({})
    table = render_targets(results)
    assert len(table.splitlines()) == 2 + len(results)
    assert len(results) == 10
