"""The raw HTTP/1.1 base: lifecycle, keep-alive, request bodies, faults and recording."""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from . import Exchange, OllamaSimulator, SimulatorConfig, SimulatorServer
from .helpers import USER_MESSAGES

CHAT = {"model": "llama3.2", "messages": USER_MESSAGES}


class RawServer(SimulatorServer):
    """A custom server built on the base: raw bytes at odd boundaries, or a crash."""

    async def handle(self, exchange: Exchange) -> None:
        if exchange.request.path == "/crash":
            raise RuntimeError("scripted crash")
        head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
        await exchange.send_raw(head, sizes=[1, 7, 3, 30])
        exchange.complete = True


def raw_exchange(port: int, payload: bytes, *, read_until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(payload)
        received = b""
        while read_until_close:
            data = sock.recv(65536)
            if not data:
                break
            received += data
        return received


def test_lifecycle_in_sync_code_and_several_event_loops() -> None:
    simulator = OllamaSimulator(SimulatorConfig())
    with pytest.raises(RuntimeError):
        _ = simulator.base_url
    with simulator:
        assert simulator.base_url == f"http://127.0.0.1:{simulator.port}"
        with pytest.raises(RuntimeError):
            simulator.start()
        assert httpx.get(simulator.base_url).text == "Ollama is running"

        async def fetch() -> int:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{simulator.base_url}/api/version")).status_code

        assert [asyncio.run(fetch()), asyncio.run(fetch())] == [200, 200]
        port = simulator.port
    simulator.stop()
    assert not [thread for thread in threading.enumerate() if thread.name == "OllamaSimulator"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/")


async def test_keep_alive_and_connection_close(
    ollama: OllamaSimulator, http: httpx.AsyncClient
) -> None:
    for _ in range(3):
        assert (await http.post(f"{ollama.base_url}/api/chat", json=CHAT)).status_code == 200
    closing = await http.get(f"{ollama.base_url}/", headers={"Connection": "close"})
    after = await http.get(f"{ollama.base_url}/api/version?x=1&y=2")
    assert closing.headers["connection"] == "close"
    ids = [request.connection_id for request in ollama.requests]
    assert ids[:4] == [ids[0]] * 4 and ids[4] != ids[0]
    last = ollama.requests[-1]
    assert (last.method, last.path, last.query) == ("GET", "/api/version", "x=1&y=2")
    assert last.headers["host"] == f"127.0.0.1:{ollama.port}" and last.json is None
    times = [request.received_at for request in ollama.requests]
    assert times == sorted(times)
    assert all(ollama.wait_until_finished(r, 1.0) >= r.received_at for r in ollama.requests)
    assert after.status_code == 200


async def test_chunked_request_body_is_accepted(
    ollama: OllamaSimulator, http: httpx.AsyncClient
) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b'{"model":"llama3.2",', b'"messages":[],', b'"keep_alive":0}'):
            yield piece

    response = await http.post(f"{ollama.base_url}/api/chat", content=pieces())
    [request] = ollama.requests
    assert request.headers["transfer-encoding"] == "chunked"
    assert request.json == {"model": "llama3.2", "messages": [], "keep_alive": 0}
    assert response.json()["done_reason"] == "unload"


def test_raw_http_corners(ollama: OllamaSimulator) -> None:
    pipelined = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /api/version HTTP/1.1\r\nHost: x\r\n"
    pipelined += b"Connection: close\r\n\r\n"
    replies = raw_exchange(ollama.port, pipelined)
    assert replies.count(b"HTTP/1.1 200 OK\r\n") == 2 and replies.endswith(b'{"version":"0.12.0"}')
    expect = b"POST /api/chat HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
    expect += b"Connection: close\r\n\r\n{}"
    assert raw_exchange(ollama.port, expect).startswith(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400"
    )
    garbage = raw_exchange(ollama.port, b"NONSENSE\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    http10 = raw_exchange(ollama.port, b"GET / HTTP/1.0\r\n\r\n")
    assert b"Connection: close\r\n" in http10 and http10.endswith(b"Ollama is running")


def test_reset_is_a_tcp_rst(ollama: OllamaSimulator) -> None:
    request = (
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nX-Simulator-Scenario: reset-before-headers\r\n"
    )
    request += b"Content-Length: 2\r\n\r\n{}"
    body = b'{"model":"llama3.2","messages":[{"role":"user","content":"x"}]}'
    request = request.replace(
        b"Content-Length: 2\r\n\r\n{}", b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with pytest.raises(ConnectionResetError):
        raw_exchange(ollama.port, request + body)
    [recorded] = ollama.requests
    assert ollama.wait_until_finished(recorded, 1.0) >= recorded.received_at
    assert recorded.client_closed_at is None
    with pytest.raises(TimeoutError):
        ollama.wait_for_client_close(recorded, 0.05)


async def test_idle_client_close_is_recorded(ollama: OllamaSimulator) -> None:
    async with httpx.AsyncClient() as http:
        await http.get(f"{ollama.base_url}/api/version")
        closing = time.monotonic()
    [request] = ollama.requests
    assert ollama.wait_for_client_close(request, 1.0) - closing < 0.5


async def test_recording_helpers(ollama: OllamaSimulator, http: httpx.AsyncClient) -> None:
    await http.get(f"{ollama.base_url}/")
    snapshot = ollama.requests
    snapshot.clear()
    assert len(ollama.requests) == 1
    assert len(ollama.wait_for_requests(1, 0.1)) == 1
    ollama.clear()
    assert ollama.requests == []
    with pytest.raises(TimeoutError):
        ollama.wait_for_requests(1, 0.05)


async def test_custom_server_writes_raw_pieces_and_survives_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with RawServer() as server:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{server.base_url}/")).text == "hello"
            crashed = await client.get(f"{server.base_url}/crash")
            assert (crashed.status_code, crashed.headers["connection"]) == (500, "close")
            assert (await client.get(f"{server.base_url}/")).text == "hello"
        assert [str(error) for error in server.errors] == ["scripted crash"]
    assert "scripted crash" in caplog.text


async def test_faults_leave_stderr_quiet(
    capfd: pytest.CaptureFixture[str], config: SimulatorConfig
) -> None:
    with OllamaSimulator(config) as simulator:
        async with httpx.AsyncClient(timeout=httpx.Timeout(2.0, read=0.1)) as client:
            for model in ("sim/reset-mid-stream", "sim/reset-before-headers", "sim/hang"):
                body = {"model": model, "messages": USER_MESSAGES}
                with pytest.raises(httpx.TransportError):
                    await client.post(f"{simulator.base_url}/api/chat", json=body)
            config.token_interval = 0.2
            async with client.stream("POST", f"{simulator.base_url}/api/chat", json=CHAT) as r:
                await anext(r.aiter_raw())
        requests = simulator.wait_for_requests(4, 1.0)
        simulator.wait_for_client_close(requests[-1], 1.0)
        assert simulator.errors == []
    assert capfd.readouterr().err == ""


async def test_hangs_end_by_themselves_and_stop_interrupts_them(config: SimulatorConfig) -> None:
    config.hang_seconds = 0.2
    hang = {"model": "sim/hang", "messages": USER_MESSAGES}
    with OllamaSimulator(config) as simulator:
        url = f"{simulator.base_url}/api/chat"
        async with httpx.AsyncClient(timeout=5.0) as client:
            started = time.monotonic()
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(url, json=hang)
            assert 0.2 <= time.monotonic() - started < 1.0
            config.hang_seconds = 30.0
            pending = asyncio.create_task(client.post(url, json=hang))
            await asyncio.to_thread(simulator.wait_for_requests, 2, 2.0)
            stopping = time.monotonic()
            simulator.stop()
            assert time.monotonic() - stopping < 1.0
            with pytest.raises(httpx.TransportError):
                await pending
    first, second = simulator.requests
    assert first.client_closed_at is None and first.finished_at is not None
    assert second.finished_at is not None and second.finished_at - stopping < 1.0
