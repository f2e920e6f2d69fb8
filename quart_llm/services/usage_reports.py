"""Usage reports from the stored records: the period asked for, the sums per group (computed by
the database, `store.usage_queries`), as the JSON `usage_report` or as CSV; and the most
recent records. One place for both the HTTP API and `python -m quart_llm usage`.

A period is `from` (included) to `to` (excluded), each an ISO 8601 date (midnight UTC) or
date-time (UTC unless it names its offset). Without `to` it ends now; without `from` it
starts `DEFAULT_DAYS` before its end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from quart_llm.errors import InvalidRequest
from quart_llm.services.usage_records import iso_time
from quart_llm.store.database import Database
from quart_llm.store.usage_queries import (
    GROUP_BY,
    GroupBy,
    ReportQuery,
    ReportRow,
    recent_records,
    usage_report,
)

DEFAULT_DAYS = 30
MAX_RECORDS = 1000
CSV_COLUMNS = (
    "group",
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "unpriced_requests",
    "errors",
)


def parse_moment(text: str, param: str) -> datetime:
    """An ISO 8601 date or date-time as a UTC time; 400 naming `param` otherwise."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"'{param}' must be an ISO 8601 date or date-time (2026-12-05, 2026-12-05T04:20:00Z).",
            param=param,
        ) from None


def report_query(
    group_by: str | None, start: str | None, end: str | None, key_id: str | None,
    allowed: Sequence[GroupBy] = GROUP_BY,
) -> ReportQuery:  # fmt: skip
    """The report asked for, checked (400 for a bad group or period)."""
    group = next((name for name in allowed if name == (group_by or "day")), None)
    if group is None:
        raise InvalidRequest(f"'group_by' must be one of: {', '.join(allowed)}.", param="group_by")
    end_at = parse_moment(end, "to") if end else datetime.now(UTC)
    start_at = parse_moment(start, "from") if start else _days_before(end_at, DEFAULT_DAYS)
    if start_at >= end_at:
        raise InvalidRequest("'from' must be before 'to'.", param="from")
    return ReportQuery(group, start_at, end_at, key_id or None)


def _days_before(moment: datetime, days: int) -> datetime:
    try:
        return moment - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


async def build_report(database: Database, query: ReportQuery) -> dict[str, Any]:
    """The `usage_report` object of `query`."""
    rows, total = await usage_report(database.engine, query)
    return {
        "object": "usage_report",
        "group_by": query.group_by,
        "from": iso_time(query.start),
        "to": iso_time(query.end),
        "rows": [_row_body(row) for row in rows],
        "total": {k: v for k, v in _row_body(total).items() if k != "group"},
    }


def _row_body(row: ReportRow) -> dict[str, Any]:
    body = asdict(row)
    body["total_tokens"] = row.total_tokens
    return {column: body[column] for column in CSV_COLUMNS}


def report_csv(report: dict[str, Any]) -> str:
    """The report's rows as CSV (`CSV_COLUMNS`; an unknown cost or group is an empty cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def report_table(report: dict[str, Any]) -> str:
    """The report as an aligned text table for a terminal, its total last."""
    lines = [list(CSV_COLUMNS)]
    for row in [*report["rows"], {"group": "total", **report["total"]}]:
        lines.append(["-" if row[c] is None else _cell(row[c]) for c in CSV_COLUMNS])
    widths = [max(len(line[i]) for line in lines) for i in range(len(CSV_COLUMNS))]
    title = f"usage by {report['group_by']}, {report['from']} to {report['to']} (excluded)\n"
    return title + "".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                  enumerate(zip(line, widths, strict=True))).rstrip() + "\n"
        for line in lines
    )  # fmt: skip


def _cell(value: object) -> str:
    return f"{value:.6f}" if isinstance(value, float) else str(value)


async def list_records(database: Database, key_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest records (of one key), newest first, as the API shows them."""
    if not 1 <= limit <= MAX_RECORDS:
        raise InvalidRequest(f"'limit' must be from 1 to {MAX_RECORDS}.", param="limit")
    records = await recent_records(database.engine, key_id or None, limit)
    for record in records:
        record["created_at"] = iso_time(record["created_at"])
        if record["cost_usd"] is not None:
            record["cost_usd"] = float(record["cost_usd"])
    return records
