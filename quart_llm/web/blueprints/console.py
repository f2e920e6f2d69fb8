"""The web console at `/ui/`: static files from the package (`quart_llm/console/`), served
as they are, with no build step and nothing fetched from anywhere else.

The console is a client of the public API like any other: it signs in with a key the user
types (kept in the tab's session storage) and calls `/v1/*` and `/admin/v1/*` with it. So
these routes need no key themselves, are left out of the OpenAPI document and of request
limits, and carry the console's own Content-Security-Policy (self only, nothing inline).
`/ui` and `/ui/` both answer the page (the gateway answers no redirect); any other path is
a file of the console's folder or a 404.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response
from quart_rate_limiter import rate_exempt
from quart_schema import hide
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from quart_llm.config.paths import CONSOLE_PATH
from quart_llm.web.auth import public
from quart_llm.web.security_headers import CONSOLE_CONTENT_SECURITY_POLICY

blueprint = Blueprint("console", __name__)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
"""The types the console's files are served as; a file of any other type is not served (the
system's MIME table, which varies between machines, is never consulted)."""


@blueprint.get("/ui")
@blueprint.get("/ui/")
@rate_exempt
@public
@hide
async def get_console() -> Response:
    """The console's page."""
    return _file("index.html")


@blueprint.get("/ui/<path:name>")
@rate_exempt
@public
@hide
async def get_console_file(name: str) -> Response:
    """One of the console's files (modules, stylesheet, icon)."""
    return _file(name)


def _file(name: str) -> Response:
    """The file at `name` under the console's folder, or a 404 (never a path outside it)."""
    joined = safe_join(str(CONSOLE_PATH), name)
    if joined is None:
        raise NotFound()
    path = Path(joined)
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        raise NotFound()
    return Response(
        path.read_bytes(),
        content_type=content_type,
        headers={
            "Content-Security-Policy": CONSOLE_CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
        },
    )
