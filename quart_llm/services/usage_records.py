"""A usage record: what one request cost and how it went, made from its finished
`RequestRecord`. Never what was said: no prompt, no answer, no header.

Which requests have one: those an API key made to do work (every `POST` past
authentication: chat, messages, responses, and their refusals: limits, bad input, failures).
Reads (`GET /v1/models`, `GET /v1/usage`) and the admin API have none; a request refused
before its key was known has no key to charge.

A record is a plain mapping of the `usage_records` columns (`store.schema`), so it goes to
the database as it is and to the spill file as one JSON line (`to_json_line`, read back by
`from_json_line`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from quart_llm.lib.random_ids import RandomIds
from quart_llm.observability.request_record import RequestRecord

UsageRecord = dict[str, Any]
METERED_METHODS = frozenset({"POST"})


def is_metered(method: str, api_key_id: str | None) -> bool:
    """Whether a request gets a usage record: work asked by an authenticated API key."""
    return api_key_id is not None and method in METERED_METHODS


def usage_record_of(
    record: RequestRecord, ids: RandomIds, aliases: Collection[str], duration: float
) -> UsageRecord:
    """The usage record of a finished request (`duration` in seconds, as its log line has it;
    `created_at` is when it started, as epoch seconds until `with_datetime` makes it a time:
    the request path pays for a float, the writer for the datetime)."""
    usage = record.usage
    ttft = None if record.first_chunk_at is None else record.first_chunk_at - record.started
    return {
        "record_id": ids.hex(16),
        "created_at": time.time() - duration,
        "request_id": record.request_id[:128],
        "key_id": record.key_id,
        "route": record.route,
        "provider": record.provider or None,
        "model": record.model or None,
        "alias": record.requested_model if record.requested_model in aliases else None,
        "status": record.status,
        "outcome": record.final_outcome,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "tokens_estimated": bool(usage and usage.estimated),
        "cost_usd": record.cost_usd,
        "duration_ms": round(duration * 1000, 3),
        "ttft_ms": None if ttft is None else round(ttft * 1000, 3),
        "retries": record.retries,
        "fallbacks": record.fallbacks,
        "error_code": record.error_code,
    }


def with_datetime(record: UsageRecord) -> UsageRecord:
    """The record with `created_at` as a UTC datetime (what the database and the spill file
    take)."""
    created_at = record["created_at"]
    if isinstance(created_at, float):
        record["created_at"] = datetime.fromtimestamp(created_at, UTC)
    return record


def to_json_line(record: UsageRecord) -> str:
    """One line of the spill file (the time to the microsecond, as the database keeps it)."""
    return json.dumps({**record, "created_at": record["created_at"].isoformat()}) + "\n"


def from_json_line(line: str) -> UsageRecord:
    """A record of the spill file (ValueError or KeyError for a line that is not one)."""
    record: UsageRecord = json.loads(line)
    record["created_at"] = datetime.fromisoformat(record["created_at"])
    return record


def iso_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z` (a naive time is UTC: SQLite gives those back)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
