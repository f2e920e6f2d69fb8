"""JSON responses encoded with orjson, the one JSON encoder on the hot path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from quart import Response

JSON_CONTENT_TYPE = "application/json"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON_CONTENT_TYPE,
    )
