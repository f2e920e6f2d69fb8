"""A blocking HTTP/2 client over one socket (h2c, prior knowledge), frame by frame, built on
`h2` (Hypercorn's own HTTP/2 library), for tests that must misbehave as no polite client
would: grant no flow-control window, cancel streams as soon as they are opened."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

READ_SIZE = 65536


class RawH2Client:
    """One HTTP/2 connection to 127.0.0.1:`port`; `initial_window` is the stream window the
    client grants (0: the server may send no response body at all)."""

    def __init__(self, port: int, *, initial_window: int | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.connection = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        if initial_window is not None:
            self.connection.local_settings = h2.settings.Settings(
                client=True,
                initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window},
            )
        self.connection.initiate_connection()
        self.closed = False
        self.flush()

    def request(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        send: bool = True,
    ) -> int:
        """Open a stream with this request; `send=False` leaves its frames for `flush()`."""
        stream_id = self.connection.get_next_available_stream_id()
        pseudo = [(":method", method), (":path", path), (":scheme", "http")]
        pseudo.append((":authority", "127.0.0.1"))
        encoded = [(k.encode(), v.encode()) for k, v in [*pseudo, *headers]]
        self.connection.send_headers(stream_id, encoded, end_stream=not body)
        if body:
            self.connection.send_data(stream_id, body, end_stream=True)
        if send:
            self.flush()
        return stream_id

    def reset(self, stream_id: int, *, send: bool = True) -> None:
        """Cancel a stream (RST_STREAM CANCEL)."""
        self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        if send:
            self.flush()

    def flush(self) -> None:
        """Send what the connection has queued."""
        data = self.connection.data_to_send()
        if data:
            self.sock.sendall(data)

    def read_events(self, timeout: float) -> list[h2.events.Event]:
        """The events of what arrives within `timeout` seconds (one read; 0: only what has
        arrived); [] also at the end (then `closed` is set)."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(READ_SIZE)
        except (TimeoutError, BlockingIOError):
            return []
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return []
        events = self.connection.receive_data(data)
        try:
            self.flush()  # acknowledgements h2 queued for what arrived
        except OSError:
            self.closed = True  # the server has closed after sending it (a GOAWAY): keep it
        return events

    def wait_for(
        self, found: Callable[[h2.events.Event], bool], timeout: float
    ) -> h2.events.Event | None:
        """Read until an event `found` accepts arrives (returned), the connection closes or
        `timeout` passes (None)."""
        deadline = time.monotonic() + timeout
        while not self.closed and (left := deadline - time.monotonic()) > 0:
            for event in self.read_events(left):
                if found(event):
                    return event
        return None

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()
