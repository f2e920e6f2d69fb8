"""The admin API's usage: `GET /admin/v1/usage` (stored records summed per key, model,
provider or day, as JSON or CSV) and `GET /admin/v1/requests` (the newest records)."""

from __future__ import annotations

from quart import Response
from quart_schema import document_response, validate_querystring

from quart_llm.schemas.usage import (
    UsageRecordList,
    UsageRecordsQuery,
    UsageReport,
    UsageReportQuery,
)
from quart_llm.services.usage_reports import (
    CSV_COLUMNS,
    build_report,
    list_records,
    report_csv,
    report_query,
)
from quart_llm.web.admin_auth import admin_blueprint
from quart_llm.web.context import current_services
from quart_llm.web.openapi_provider import answers_csv, document_errors
from quart_llm.web.responses import csv_response, json_response, wants_csv

blueprint = admin_blueprint("admin_usage", __name__)


@blueprint.get("/usage")
@validate_querystring(UsageReportQuery)
@document_response(UsageReport, 200)
@answers_csv(CSV_COLUMNS)
@document_errors(400, 401, 429)
async def get_usage_report(query_args: UsageReportQuery) -> Response:
    """Sum the stored usage records of a period per key, model, provider or UTC day.

    Requests, tokens, cost (the sum of known costs; null when none is known, with
    `unpriced_requests` counting the records without one) and errors (records whose outcome is
    not `ok`), per group and in total. `format=csv` (or `Accept: text/csv`) answers the rows
    as CSV.
    """
    query = report_query(query_args.group_by, query_args.from_, query_args.to, query_args.key_id)
    report = await build_report(current_services().database, query)
    if wants_csv(query_args.format):
        return csv_response(report_csv(report), f"usage-by-{query.group_by}.csv")
    return json_response(report)


@blueprint.get("/requests")
@validate_querystring(UsageRecordsQuery)
@document_response(UsageRecordList, 200)
@document_errors(400, 401, 429)
async def list_usage_records(query_args: UsageRecordsQuery) -> Response:
    """List the newest usage records (of one key with `key_id`), newest first.

    One record per request an API key made past authentication: its route, provider, model,
    status, outcome, tokens, cost, timings, retries and fallbacks; never its content. Records
    reach the database within about `usage.flush_seconds` of the request's end.
    """
    records = await list_records(current_services().database, query_args.key_id, query_args.limit)
    return json_response({"object": "list", "data": records})
