"""Thread-safe record of the requests a simulator received and how each one ended."""

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class RecordedRequest:
    """One request as received; the last five fields are filled in while it is answered."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    received_at: float
    connection_id: int
    scenario: str | None = None
    unknown_fields: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    finished_at: float | None = None
    client_closed_at: float | None = None
    streamed_bytes: int = 0
    """Bytes of stream body written so far (counted by the firehose scenario)."""


class Recorder:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._requests: list[RecordedRequest] = []

    def add(self, request: RecordedRequest) -> None:
        with self._condition:
            self._requests.append(request)
            self._condition.notify_all()

    def finished(self, request: RecordedRequest, at: float) -> None:
        with self._condition:
            if request.finished_at is None:
                request.finished_at = at
            self._condition.notify_all()

    def client_closed(self, request: RecordedRequest, at: float) -> None:
        with self._condition:
            if request.client_closed_at is None:
                request.client_closed_at = at
            self._condition.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self._condition:
            return list(self._requests)

    def clear(self) -> None:
        with self._condition:
            self._requests.clear()

    def wait_for_client_close(self, request: RecordedRequest, timeout: float) -> float:
        with self._condition:
            self._condition.wait_for(lambda: request.client_closed_at is not None, timeout)
            closed_at = request.client_closed_at
        if closed_at is None:
            raise TimeoutError(f"client did not close {request.method} {request.path}")
        return closed_at

    def wait_until_finished(self, request: RecordedRequest, timeout: float) -> float:
        with self._condition:
            self._condition.wait_for(lambda: request.finished_at is not None, timeout)
            finished_at = request.finished_at
        if finished_at is None:
            raise TimeoutError(f"server still answering {request.method} {request.path}")
        return finished_at

    def wait_for_requests(self, count: int, timeout: float) -> list[RecordedRequest]:
        with self._condition:
            self._condition.wait_for(lambda: len(self._requests) >= count, timeout)
            requests = list(self._requests)
        if len(requests) < count:
            raise TimeoutError(f"expected {count} requests, got {len(requests)}")
        return requests
