"""One-off HTTP/1.1 requests on loopback (http.client: no proxies, no surprises)."""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        connection.close()


def status_or_none(port: int, path: str, timeout: float = 1.0) -> int | None:
    """The status of a GET, or None when nothing answers yet."""
    try:
        return request(port, "GET", path, timeout=timeout).status
    except (OSError, http.client.HTTPException):
        return None
