"""The SQL of usage records: writing a batch (idempotent), the aggregated report, the most
recent records. Everything is computed by the database, the same on SQLite and PostgreSQL.

A batch is inserted with `ON CONFLICT (record_id) DO NOTHING` (both databases have it): a
batch written twice, because a replay followed a write whose answer was lost, counts once.

Times are stored in UTC. SQLite keeps them as ISO text without a zone, which sorts and
compares as time does as long as every value is UTC; `utc_day` is the one expression that
turns a stored time into its UTC day on either database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Case, ColumnElement, Select, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from quart_llm.store.schema import usage_records

GroupBy = Literal["key", "model", "provider", "day"]
_TEXT_LENGTHS: dict[str, int] = {
    column.name: column.type.length
    for column in usage_records.c
    if isinstance(column.type, String) and column.type.length
}
GROUP_BY: tuple[GroupBy, ...] = ("key", "model", "provider", "day")


class utc_day(FunctionElement[str]):  # noqa: N801 - named as the SQL function it stands for
    """`YYYY-MM-DD` of a stored time, in UTC."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char(({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@compiles(utc_day)
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a report covers: `start` included, `end` excluded, perhaps one key only."""

    group_by: GroupBy
    start: datetime
    end: datetime
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group's sums (`group` None: records without that field, e.g. refused before a
    provider was chosen)."""

    group: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    """The sum of the known costs; None when no record of the group has one."""
    unpriced_requests: int
    errors: int
    """Records whose outcome is not `ok` (refusals, failures, streams cut short)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


async def insert_records(engine: AsyncEngine, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write `rows` in one transaction; a record already there is left as it is."""
    if not rows:
        return
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(usage_records).on_conflict_do_nothing(index_elements=["record_id"])
    async with engine.begin() as connection:
        await connection.execute(statement, [storable(row) for row in rows])


async def database_answers(engine: AsyncEngine) -> bool:
    """Whether the database answers a trivial query now."""
    try:
        async with engine.connect() as connection:
            await connection.execute(select(1))
    except Exception:  # any failure means no
        return False
    return True


def storable(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` as every database takes it: text cut to its column's length, without NUL
    characters or lone surrogates (which PostgreSQL refuses). Some of it comes from clients
    (a model name): one record the database refuses would fail its whole batch, and a batch
    that always fails would be replayed forever."""
    fitted = dict(row)
    for name, value in row.items():
        if isinstance(value, str):
            text = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
            fitted[name] = text[: _TEXT_LENGTHS.get(name)]
    return fitted


def _group_column(group_by: GroupBy) -> ColumnElement[Any]:
    columns = usage_records.c
    if group_by == "day":
        return utc_day(columns.created_at)
    return {"key": columns.key_id, "model": columns.model, "provider": columns.provider}[group_by]


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    counted: Case[int] = case((condition, 1), else_=0)
    return func.coalesce(func.sum(counted), 0)


def _sums() -> list[ColumnElement[Any]]:
    columns = usage_records.c
    return [
        func.count().label("requests"),
        func.coalesce(func.sum(columns.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(columns.completion_tokens), 0).label("completion_tokens"),
        func.sum(columns.cost_usd).label("cost_usd"),
        _count_where(columns.cost_usd.is_(None)).label("unpriced_requests"),
        _count_where(columns.outcome != "ok").label("errors"),
    ]


def _covered(statement: Select[Any], query: ReportQuery) -> Select[Any]:
    columns = usage_records.c
    statement = statement.where(columns.created_at >= query.start, columns.created_at < query.end)
    if query.key_id is not None:
        statement = statement.where(columns.key_id == query.key_id)
    return statement


def _row(group: str | None, values: Mapping[str, Any]) -> ReportRow:
    cost = values["cost_usd"]
    return ReportRow(
        group=group,
        requests=int(values["requests"]),
        prompt_tokens=int(values["prompt_tokens"]),
        completion_tokens=int(values["completion_tokens"]),
        cost_usd=None if cost is None else float(cost),
        unpriced_requests=int(values["unpriced_requests"]),
        errors=int(values["errors"]),
    )


async def usage_report(
    engine: AsyncEngine, query: ReportQuery
) -> tuple[list[ReportRow], ReportRow]:
    """Each group's sums, ordered by group, and the sums of them all."""
    group = _group_column(query.group_by).label("group")
    grouped = _covered(select(group, *_sums()), query).group_by(group).order_by(group)
    total = _covered(select(*_sums()), query)
    async with engine.connect() as connection:
        rows = (await connection.execute(grouped)).mappings().all()
        overall = (await connection.execute(total)).mappings().one()
    return [_row(row["group"], row) for row in rows], _row(None, overall)


async def recent_records(
    engine: AsyncEngine, key_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """The newest `limit` records (of one key, when given), newest first."""
    columns = usage_records.c
    statement = select(*(c for c in columns if c.name != "id"))
    if key_id is not None:
        statement = statement.where(columns.key_id == key_id)
    statement = statement.order_by(columns.created_at.desc(), columns.id.desc()).limit(limit)
    async with engine.connect() as connection:
        rows = (await connection.execute(statement)).mappings()
        return [{str(name): value for name, value in row.items()} for row in rows]
