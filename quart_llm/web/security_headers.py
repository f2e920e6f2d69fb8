"""Headers every response carries: an API has no business being framed, sniffed or cached.

The web console (`web/blueprints/console.py`) is the one part that a browser renders, so its
files carry a policy of their own: scripts, styles, images and requests from this origin
only, nothing inline, nothing framed; the API's answers keep the strict policy."""

from __future__ import annotations

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

CONSOLE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The console's policy: its own modules and stylesheet, requests to the gateway's API."""
