"""Client-side helpers shared by the simulator tests."""

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .scenarios import SCENARIO_HEADER

USER_MESSAGES = [{"role": "user", "content": "Say hello to the café"}]


@dataclass
class Capture:
    """A response read chunk by chunk, with arrival times and the error that ended it."""

    status: int = 0
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    chunks: list[bytes] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    started: float = 0.0
    headers_at: float = 0.0
    error: Exception | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def capture(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout | None = None,
) -> Capture:
    result = Capture(started=time.monotonic())
    extensions = {"timeout": timeout.as_dict()} if timeout is not None else None
    request = client.build_request(
        method, url, json=json, content=content, headers=headers, extensions=extensions
    )
    try:
        response = await client.send(request, stream=True)
        result.status, result.headers = response.status_code, response.headers
        result.headers_at = time.monotonic()
        try:
            async for chunk in response.aiter_raw():
                result.chunks.append(chunk)
                result.arrivals.append(time.monotonic())
        finally:
            await response.aclose()
    except (httpx.TransportError, httpx.StreamError) as exc:
        result.error = exc
    return result


def scenario_headers(scenario: str) -> dict[str, str]:
    return {SCENARIO_HEADER: scenario}
