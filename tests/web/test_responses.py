from __future__ import annotations

from werkzeug.datastructures import Headers

from quart_llm.web.responses import add_missing_headers


def test_adds_only_the_headers_not_already_there_whatever_their_case() -> None:
    headers = Headers([("content-type", "text/plain"), ("X-Frame-Options", "SAMEORIGIN")])
    add_missing_headers(
        headers,
        {"Content-Type": "application/json", "x-frame-options": "DENY", "X-New": "1"},
    )
    assert headers.to_wsgi_list() == [
        ("content-type", "text/plain"),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-New", "1"),
    ]
