"""`GET /v1/usage`: the calling key's usage and limits, and on request its stored report."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, tag, validate_querystring

from quart_llm.schemas.usage import KeyUsageQuery, UsageResponse
from quart_llm.services.usage import usage_report
from quart_llm.services.usage_reports import CSV_COLUMNS, build_report, report_csv, report_query
from quart_llm.web.auth import current_principal
from quart_llm.web.context import current_services
from quart_llm.web.openapi_provider import answers_csv, document_errors
from quart_llm.web.responses import csv_response, json_response, wants_csv

blueprint = Blueprint("usage", __name__)


@blueprint.get("/v1/usage")
@tag(["usage"])
@validate_querystring(KeyUsageQuery)
@document_response(UsageResponse, 200)
@answers_csv(CSV_COLUMNS)
@document_errors(400, 401, 429, 503)
async def get_usage(query_args: KeyUsageQuery) -> Response:
    """Report the calling key's usage and limits.

    Requests answered and tokens used in the current window of each period and in total,
    by provider and model. `estimated_requests` counts answers whose token counts are the
    gateway's estimate because the upstream reported none.

    With `group_by` (`day` or `model`), `from` or `to`, the answer adds `report`: the key's
    stored usage records of that period summed per group (cost included); `format=csv` (or
    `Accept: text/csv`) answers that report's rows as CSV instead.
    """
    services, key_id = current_services(), current_principal().key_id
    asked = (query_args.group_by, query_args.from_, query_args.to, query_args.format)
    if not any(asked):
        return json_response(await usage_report(services.quotas, key_id))
    query = report_query(query_args.group_by, query_args.from_, query_args.to, key_id)
    report = await build_report(services.database, query)
    if wants_csv(query_args.format):
        return csv_response(report_csv(report), f"usage-by-{query.group_by}.csv")
    return json_response({**await usage_report(services.quotas, key_id), "report": report})
