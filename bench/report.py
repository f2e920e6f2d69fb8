"""The results table: rows as scenarios produce them, rendered as Markdown and written out."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

PASS, MISS, INFO, ERROR = "pass", "MISS", "info", "ERROR"
COLUMNS = ("Scenario", "Measure", "Gateway", "Baseline", "Ratio", "Target", "Result")


@dataclass(frozen=True, slots=True)
class Row:
    scenario: str
    measure: str
    gateway: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    result: str = INFO

    def cells(self) -> tuple[str, ...]:
        return (
            self.scenario,
            self.measure,
            self.gateway,
            self.baseline,
            self.ratio,
            self.target,
            self.result,
        )


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


def ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f} ms"


def signed_ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.2f} ms"


def rate(value: float, unit: str = "req/s") -> str:
    return f"{value:,.0f} {unit}"


def times(value: float) -> str:
    return "n/a" if math.isnan(value) or math.isinf(value) else f"{value:.2f}x"


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def render_table(rows: list[Row]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_escape(cell) for cell in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def render_document(
    title: str,
    preamble: list[str],
    rows: list[Row],
    notes: list[str],
    sections: Sequence[tuple[str, str]] = (),
) -> str:
    """The title, the preamble, the table, each (heading, Markdown) section, then the notes."""
    parts = [f"# {title}", "", *preamble, "", render_table(rows), ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", body, ""]
    if notes:
        parts += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    return "\n".join(parts)


def rows_as_json(rows: list[Row]) -> list[dict[str, str]]:
    return [dict(zip(COLUMNS, row.cells(), strict=True)) for row in rows]


def write_results(
    results_dir: Path, document: str, started: datetime, results: dict[str, Any]
) -> Path:
    """`<UTC timestamp>.md` and `.json` (`results`), with copies as `latest.md`/`latest.json`."""
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{stem}.md"
    path.write_text(document)
    (results_dir / "latest.md").write_text(document)
    encoded = json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    (results_dir / f"{stem}.json").write_text(encoded)
    (results_dir / "latest.json").write_text(encoded)
    return path
