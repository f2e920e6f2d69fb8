"""The OpenAPI 3.1 copy of the 3.2 document, for tools that read only 3.1 (SDK generators).

The 3.2 document is the canonical one (`/openapi.json`); this module is the one place that
turns it into 3.1 (`/openapi-3.1.json`, `openapi/openapi-3.1.json`). The only 3.2 keyword the
gateway writes is `itemSchema` (each event of a stream); 3.1 has no field for it, so a Media
Type Object's `itemSchema` becomes `x-itemSchema` (kept whole, for readers and tools that look
for it) and the body it describes becomes `schema: {type: string}`: the whole stream as text,
which openapi-python-client hands back as `str`. A test validates the copy against the 3.1
schema, so a 3.2 field the gateway starts to write without a conversion here fails there.
"""

from __future__ import annotations

import copy
from typing import Any

OPENAPI_3_1 = "3.1.0"
ITEM_SCHEMA_EXTENSION = "x-itemSchema"


def as_openapi_3_1(spec: dict[str, Any]) -> dict[str, Any]:
    """A 3.1 copy of a 3.2 document (the input is left as it is)."""
    converted = copy.deepcopy(spec)
    converted["openapi"] = OPENAPI_3_1
    for media in media_type_objects(converted):
        if "itemSchema" in media:
            media[ITEM_SCHEMA_EXTENSION] = media.pop("itemSchema")
            media.setdefault("schema", {"type": "string"})
    return converted


def media_type_objects(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every request body's and response's Media Type Objects, to change in place."""
    found: list[dict[str, Any]] = []
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody", {}), *operation.get("responses", {}).values()]
            found.extend(media for body in bodies for media in body.get("content", {}).values())
    return found
