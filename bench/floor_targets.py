"""The targets of the performance issue (#20), each judged against the stack floor measured in
the same run: the figures the scenarios record (`Context.record`) become one row per target,
with the floor's figure, the gateway's, their ratio and pass/miss.

Why a section of its own: the scenarios' rows keep the older targets against the bare
passthrough; these are the ones the issue restated against the floor (bench/floor.py), the
part of the passthrough's speed the required libraries leave to win. A target whose figures
were not measured in this run (`--only`, or no aiohttp for the floor) is `not measured`, never
a pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bench.report import MISS, PASS, rate, signed_ms, times

NOT_MEASURED = "not measured"

# Figure names: `<measure>.<who>`; who is `gateway` or `floor`, or a route for the surfaces.
WHOLE = "whole_c32"
STREAMED = "streamed_c32"
PACED = "paced_stall_free"
IDLE_MEMORY = "idle_stream_kib"
LATENCY = "added_p50_ms"
SURFACE_WHOLE = "surface_whole"
SURFACE_STREAMED = "surface_streamed"
SURFACE_ROUTES = ("messages", "responses", "embeddings")
"""The routes of the API-surfaces issue, each against chat (embeddings: whole answers only)."""

WHOLE_RATIO = 0.92
STREAMED_RATIO = 0.85
MEMORY_MARGIN_KIB = 6.0
LATENCY_MARGIN_MS = 0.15
SURFACE_COST = 0.10


def figure(measure: str, who: str) -> str:
    return f"{measure}.{who}"


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One target's line: both figures as text, the ratio (or difference) and the verdict."""

    target: str
    rule: str
    floor: str
    gateway: str
    ratio: str
    result: str

    def as_json(self) -> dict[str, str]:
        return {
            "target": self.target,
            "rule": self.rule,
            "floor": self.floor,
            "gateway": self.gateway,
            "ratio": self.ratio,
            "result": self.result,
        }


def _pair(figures: Mapping[str, float], measure: str, base: str = "floor") -> tuple[float, float]:
    nan = float("nan")
    return figures.get(figure(measure, base), nan), figures.get(figure(measure, "gateway"), nan)


def _judged(
    target: str,
    rule: str,
    pair: tuple[float, float],
    show: Callable[[float], str],
    compare: Callable[[float, float], tuple[str, bool]],
) -> TargetResult:
    base, ours = pair
    if math.isnan(base) or math.isnan(ours):
        return TargetResult(target, rule, NOT_MEASURED, NOT_MEASURED, "", NOT_MEASURED)
    shown, ok = compare(base, ours)
    return TargetResult(target, rule, show(base), show(ours), shown, PASS if ok else MISS)


def _at_least(share: float) -> Callable[[float, float], tuple[str, bool]]:
    def compare(base: float, ours: float) -> tuple[str, bool]:
        value = ours / base if base > 0 else float("nan")
        return times(value), value >= share

    return compare


def _at_most_plus(margin: float, unit: str) -> Callable[[float, float], tuple[str, bool]]:
    def compare(base: float, ours: float) -> tuple[str, bool]:
        return f"{ours - base:+.2f} {unit}", ours - base <= margin

    return compare


def _surface(figures: Mapping[str, float], measure: str, route: str, kind: str) -> TargetResult:
    """A route against chat on the same gateway: cost = chat's rate / the route's - 1."""

    def compare(chat: float, ours: float) -> tuple[str, bool]:
        cost = chat / ours - 1 if ours > 0 else float("inf")
        return f"{times(ours / chat)} ({cost:+.0%} time)", cost <= SURFACE_COST

    chat = figures.get(figure(measure, "chat"), float("nan"))
    ours = figures.get(figure(measure, route), float("nan"))
    return _judged(
        f"6 {route} {kind} vs chat {kind}",
        f"≤ {SURFACE_COST:.0%} more time than chat (reference: chat, same gateway)",
        (chat, ours),
        lambda value: rate(value, "answers/s"),
        compare,
    )


def _paced(figures: Mapping[str, float]) -> TargetResult:
    """Stall-free N against the floor's; a floor stall-free at no rung (the machine could not
    hold even the lowest) proves nothing, so the target is then not measured, never a pass."""
    result = _judged(
        "3 paced stall-free N",
        "≥ floor's N",
        _pair(figures, PACED),
        lambda value: f"{value:.0f}",
        lambda base, ours: (f"{ours - base:+.0f}", ours >= base),
    )
    if figures.get(figure(PACED, "floor")) == 0:
        return TargetResult(
            result.target, result.rule, "none", result.gateway, "", NOT_MEASURED + " (floor: none)"
        )
    return result


def evaluate(figures: Mapping[str, float]) -> list[TargetResult]:
    """Every target of the issue, in its order."""
    results = [
        _judged(
            "1 whole answers c=32",
            f"≥ {WHOLE_RATIO:g}x floor",
            _pair(figures, WHOLE),
            rate,
            _at_least(WHOLE_RATIO),
        ),
        _judged(
            "2 streamed answers c=32",
            f"≥ {STREAMED_RATIO:g}x floor (events/s)",
            _pair(figures, STREAMED),
            lambda value: rate(value, "events/s"),
            _at_least(STREAMED_RATIO),
        ),
        _paced(figures),
        _judged(
            "4 memory per idle stream",
            f"≤ floor + {MEMORY_MARGIN_KIB:g} KiB",
            _pair(figures, IDLE_MEMORY),
            lambda value: f"{value:.1f} KiB",
            _at_most_plus(MEMORY_MARGIN_KIB, "KiB"),
        ),
        _judged(
            "5 added latency p50 c=1",
            f"≤ floor + {LATENCY_MARGIN_MS:g} ms",
            _pair(figures, LATENCY),
            signed_ms,
            _at_most_plus(LATENCY_MARGIN_MS, "ms"),
        ),
    ]
    for route in SURFACE_ROUTES:
        results.append(_surface(figures, SURFACE_WHOLE, route, "whole"))
        if route != "embeddings":
            results.append(_surface(figures, SURFACE_STREAMED, route, "streamed"))
    return results


def render_targets(results: list[TargetResult]) -> str:
    """The section as a Markdown table."""
    header = ("Target", "Rule", "Floor / reference", "Gateway", "Ratio", "Result")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for item in results:
        cells = (item.target, item.rule, item.floor, item.gateway, item.ratio, item.result)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
