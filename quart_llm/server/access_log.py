"""Hypercorn's access log, made cheap enough to leave on under load.

Hypercorn builds a dictionary of every atom for every request — each request and response
header, and a copy of the whole process environment — to fill a format that uses five of
them, then writes the line on the event loop. Measured under load (bench/) that was 7% of a
whole answer. Here an atom is computed only when the format asks for it, and the lines are
written in batches by a thread, as the gateway's own log lines are (see `log_batching`).

Environment atoms (`%({NAME}e)s`) are logged as `-`: the environment holds the API keys.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import Any

from hypercorn.config import Config
from hypercorn.logging import Logger
from hypercorn.typing import ResponseSummary, WWWScope

from quart_llm.observability.log_batching import BatchingHandler

_MISSING = "-"


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return _MISSING


class AccessAtoms(Mapping[str, Any]):
    """The atoms of Hypercorn's `access_log_format`, computed on demand (same keys, same
    values as `hypercorn.logging.AccessLogAtoms`, but `-` for the environment)."""

    __slots__ = ("_request", "_response", "_seconds")

    def __init__(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> None:
        self._request = request
        self._response = response
        self._seconds = request_time

    def __getitem__(self, key: str) -> Any:
        if key.startswith("{") and len(key) > 3 and key[-2] == "}":
            name = key[1:-2].lower().encode("latin-1")
            if key[-1] == "i":
                return _header(self._request["headers"], name)
            if key[-1] == "o" and self._response is not None:
                return _header(self._response.get("headers", ()), name)
            return _MISSING
        compute = _ATOMS.get(key)
        return _MISSING if compute is None else compute(self)

    def __iter__(self) -> Iterator[str]:
        return iter(_ATOMS)

    def __len__(self) -> int:
        return len(_ATOMS)

    # The atoms, one small function each.

    def remote_address(self) -> str | None:
        """The client's address and port."""
        client = self._request.get("client")
        if client is None:
            return None
        if len(client) == 2:
            return f"{client[0]}:{client[1]}"
        if len(client) == 1:
            return str(client[0])
        return f"<???{client}???>"

    def method(self) -> str:
        """The request method (GET for a websocket)."""
        return self._request["method"] if self._request["type"] == "http" else "GET"

    def protocol(self) -> str:
        """The HTTP version (`ws` for a websocket)."""
        return self._request.get("http_version", "ws")

    def query(self) -> str:
        """The query string."""
        return self._request["query_string"].decode()

    def path_with_query(self) -> str:
        """The path with its query string."""
        query = self.query()
        return self._request["path"] + ("?" + query if query else "")

    def status(self) -> str:
        """The response status."""
        return _MISSING if self._response is None else str(self._response["status"])

    def status_phrase(self) -> str:
        """The response status's phrase."""
        if self._response is None:
            return _MISSING
        try:
            return HTTPStatus(self._response["status"]).phrase
        except ValueError:
            return f"<???{self._response['status']}???>"

    def response_length(self) -> str:
        """The response's Content-Length."""
        if self._response is None:
            return _MISSING
        return _header(self._response.get("headers", ()), b"content-length")


_ATOMS: dict[str, Callable[[AccessAtoms], Any]] = {
    "h": AccessAtoms.remote_address,
    "l": lambda atoms: _MISSING,
    "t": lambda atoms: time.strftime("[%d/%b/%Y:%H:%M:%S %z]"),
    "r": lambda atoms: f"{atoms.method()} {atoms._request['path']} {atoms.protocol()}",
    "R": lambda atoms: f"{atoms.method()} {atoms.path_with_query()} {atoms.protocol()}",
    "s": AccessAtoms.status,
    "st": AccessAtoms.status_phrase,
    "S": lambda atoms: atoms._request["scheme"],
    "m": AccessAtoms.method,
    "U": lambda atoms: atoms._request["path"],
    "Uq": AccessAtoms.path_with_query,
    "q": AccessAtoms.query,
    "H": AccessAtoms.protocol,
    "b": AccessAtoms.response_length,
    "B": AccessAtoms.response_length,
    "f": lambda atoms: atoms["{Referer}i"],
    "a": lambda atoms: atoms["{User-Agent}i"],
    "T": lambda atoms: int(atoms._seconds),
    "D": lambda atoms: int(atoms._seconds * 1_000_000),
    "L": lambda atoms: f"{atoms._seconds:.6f}",
    "p": lambda atoms: f"<{os.getpid()}>",
}


class AccessLogger(Logger):
    """Hypercorn's logger with on-demand atoms and the access lines written in batches by a
    thread. `close()` flushes them (serving calls it on the way out)."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._batching: BatchingHandler | None = None
        self._replaced: list[logging.Handler] = []
        access = self.access_logger
        if access is not None and len(access.handlers) == 1:
            original = access.handlers[0]
            if isinstance(original, logging.StreamHandler):
                self._batching = BatchingHandler(
                    original.stream, original.formatter, name="quart_llm-access-log"
                )
                self._replaced = [original]
                access.handlers = [self._batching]

    def atoms(
        self, request: WWWScope, response: ResponseSummary | None, request_time: float
    ) -> Mapping[str, Any]:
        return AccessAtoms(request, response, request_time)

    def close(self) -> None:
        if self._batching is not None:
            self._batching.close()
            self._batching = None
        for handler in self._replaced:
            handler.close()
        self._replaced = []
