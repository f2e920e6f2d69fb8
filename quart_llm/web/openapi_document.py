"""The committed OpenAPI document, rendered the same way every time."""

from __future__ import annotations

import json
from typing import Any

from quart_llm.app import create_app

SPEC_OVERRIDES: dict[str, Any] = {"api_keys": ["spec-renderer"], "default_provider": "mock"}


def openapi_document() -> dict[str, Any]:
    """The app's spec with JSON types (integer response codes become strings)."""
    app = create_app(SPEC_OVERRIDES)
    spec = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    loaded: dict[str, Any] = json.loads(json.dumps(spec, default=str))
    return loaded


def render_openapi() -> str:
    """The committed document's text: the app's spec, sorted, indented."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
