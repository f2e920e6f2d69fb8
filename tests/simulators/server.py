"""A raw-asyncio HTTP/1.1 server running its own event loop in a background thread."""

import abc
import asyncio
import contextlib
import itertools
import logging
import threading
import time
from types import TracebackType
from typing import Self

import orjson

from .exchange import ClientGoneError, Exchange
from .http11 import BadRequestError, ConnReader, RequestHead, read_body, read_head
from .recording import RecordedRequest, Recorder
from .scenarios import SimulatorConfig

HOST = "127.0.0.1"
START_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0
_log = logging.getLogger(__name__)


class _Connection:
    def __init__(
        self,
        connection_id: int,
        recorder: Recorder,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.id = connection_id
        self.writer = writer
        self.current: RecordedRequest | None = None
        self._recorder = recorder
        self.reader = ConnReader(reader, self._peer_closed)

    def _peer_closed(self, at: float) -> None:
        if self.current is not None:
            self._recorder.client_closed(self.current, at)


class SimulatorServer(abc.ABC):
    """Base class: subclasses implement `handle(exchange)`; everything else is plumbing."""

    def __init__(
        self, config: SimulatorConfig | None = None, *, port: int = 0, idle_timeout: float = 120.0
    ) -> None:
        self.config = config if config is not None else SimulatorConfig()
        self.idle_timeout = idle_timeout
        self._requested_port = port
        self._port: int | None = None
        self._recorder = Recorder()
        self._errors: list[BaseException] = []
        self._connection_ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stopping = False

    @abc.abstractmethod
    async def handle(self, exchange: Exchange) -> None:
        """Answer one request."""

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("simulator is not running")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._recorder.snapshot()

    @property
    def errors(self) -> list[BaseException]:
        return list(self._errors)

    def clear(self) -> None:
        self._recorder.clear()

    def wait_for_client_close(self, request: RecordedRequest, timeout: float) -> float:
        return self._recorder.wait_for_client_close(request, timeout)

    def wait_until_finished(self, request: RecordedRequest, timeout: float) -> float:
        return self._recorder.wait_until_finished(request, timeout)

    def wait_for_requests(self, count: int, timeout: float) -> list[RecordedRequest]:
        return self._recorder.wait_for_requests(count, timeout)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._ready.clear()
        self._startup_error = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("simulator did not start")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("simulator failed to start") from self._startup_error

    def stop(self) -> None:
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is None:
            return
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop_event.set)
        thread.join(START_TIMEOUT)
        self._thread = None
        self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._startup_error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(self._on_connection, HOST, self._requested_port)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            self._stopping = True
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            server.close_clients()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), CLOSE_TIMEOUT)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        connection = _Connection(next(self._connection_ids), self._recorder, reader, writer)
        try:
            await self._connection_loop(connection)
        except Exception as exc:
            self._errors.append(exc)
            _log.exception("simulator connection %d failed", connection.id)
        finally:
            await self._close(connection)
            if task is not None:
                self._tasks.discard(task)

    async def _connection_loop(self, connection: _Connection) -> None:
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout):
                    received = await self._receive(connection)
            except TimeoutError:
                return
            except BadRequestError:
                await self._reject(connection)
                return
            if received is None:
                return
            request, head = received
            if not await self._answer(connection, request, head.keep_alive):
                return

    async def _receive(self, connection: _Connection) -> tuple[RecordedRequest, RequestHead] | None:
        head = await read_head(connection.reader)
        if head is None:
            return None
        if head.headers.get("expect", "").lower() == "100-continue":
            connection.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await read_body(connection.reader, head)
        request = RecordedRequest(
            method=head.method,
            path=head.path,
            query=head.query,
            headers=head.headers,
            body=body,
            json=_parse_json(body),
            received_at=time.monotonic(),
            connection_id=connection.id,
        )
        connection.current = request
        self._recorder.add(request)
        return request, head

    async def _answer(self, connection: _Connection, request: RecordedRequest, keep: bool) -> bool:
        exchange = Exchange(request, connection.writer, connection.reader, keep_alive=keep)
        handler = asyncio.create_task(self._run_handler(exchange))
        watcher = asyncio.create_task(connection.reader.watch())
        try:
            await asyncio.wait((handler, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            handler.cancel()
            watcher.cancel()
            await asyncio.gather(handler, watcher, return_exceptions=True)
            self._recorder.finished(request, time.monotonic())
        return exchange.reusable and not connection.reader.eof

    async def _run_handler(self, exchange: Exchange) -> None:
        try:
            await self.handle(exchange)
        except ClientGoneError:
            exchange.close_after()
        except Exception as exc:
            self._errors.append(exc)
            _log.exception("simulator handler failed for %s", exchange.request.path)
            exchange.close_after()
            if not exchange.headers_sent:
                with contextlib.suppress(ClientGoneError):
                    body, headers = b"simulator error\n", [("Content-Type", "text/plain")]
                    await exchange.respond(500, body, headers)

    async def _reject(self, connection: _Connection) -> None:
        body = b"400 Bad Request"
        head = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        head += b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        with contextlib.suppress(ConnectionError, OSError):
            connection.writer.write(head + body)
            await connection.writer.drain()

    async def _close(self, connection: _Connection) -> None:
        connection.reader.server_closing = True
        writer = connection.writer
        if writer.transport.is_closing():
            return
        if self._stopping:
            writer.transport.abort()
            return
        writer.close()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            writer.transport.abort()


def _parse_json(body: bytes) -> object:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
