"""The committed OpenAPI documents, rendered the same way every time: the canonical 3.2 one
and its 3.1 copy for SDK generators (`openapi_versions.as_openapi_3_1`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quart_llm.app import create_app
from quart_llm.web.openapi_versions import as_openapi_3_1

SPEC_OVERRIDES: dict[str, Any] = {"api_keys": ["spec-renderer"], "default_provider": "mock"}


def openapi_document() -> dict[str, Any]:
    """The app's 3.2 document with JSON types (integer response codes become strings)."""
    app = create_app(SPEC_OVERRIDES)
    spec = app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    loaded: dict[str, Any] = json.loads(json.dumps(spec, default=str))
    return loaded


def copy_3_1_path(canonical: Path) -> Path:
    """Where the 3.1 copy of the document at `canonical` goes: `openapi.json` beside
    `openapi-3.1.json`."""
    return canonical.with_name(f"{canonical.stem}-3.1{canonical.suffix}")


def render_openapi(canonical: Path) -> dict[Path, str]:
    """Each committed document's path and text: the 3.2 document at `canonical`, its 3.1
    copy beside it; sorted and indented."""
    document = openapi_document()
    return {
        canonical: _render(document),
        copy_3_1_path(canonical): _render(as_openapi_3_1(document)),
    }


def _render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
