"""SIGTERM on a real server process with 50 open streams: finish within the grace period, or
end with a final `server_shutting_down` error event; either way the process exits promptly."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from typing import Any

import httpx

from tests.conftest import TEST_KEY
from tests.support.gateway_process import GatewayProcess, gateway_processes
from tests.support.sse_reader import ParsedStream, parse_sse

STREAMS = 50
HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}
BODY = {"model": "mock-1", "messages": [{"role": "user", "content": "Hello there"}]}


async def open_streams(
    client: httpx.AsyncClient, gateway: GatewayProcess, count: int
) -> tuple[list[asyncio.Task[str]], asyncio.Event]:
    started = 0
    all_started = asyncio.Event()

    async def one() -> str:
        nonlocal started
        async with client.stream(
            "POST", f"{gateway.base_url}/v1/chat/stream", json=BODY, headers=HEADERS
        ) as response:
            assert response.status_code == 200
            started += 1
            if started == count:
                all_started.set()
            return "".join([piece async for piece in response.aiter_text()])

    return [asyncio.create_task(one()) for _ in range(count)], all_started


def settings(tokens_per_second: float, grace: float) -> dict[str, Any]:
    return {
        "shutdown_grace_seconds": grace,
        "sse": {"keepalive_seconds": 0.5},
        "providers": {
            "mock": {"kind": "mock", "options": {"tokens_per_second": tokens_per_second}}
        },
    }


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def test_streams_in_flight_finish_within_the_grace_period() -> None:
    """Over HTTP/1.1 (50 connections); HTTP/2 is the raw-h2 test below: httpx's HTTP/2 stack
    fails every stream of a connection once the server's final GOAWAY arrives, even streams
    whose END_STREAM came first, which would hide what the server does."""
    with gateway_processes(1, settings(tokens_per_second=8, grace=20)) as (gateway,):
        limits = httpx.Limits(max_connections=STREAMS + 5)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            tasks, all_started = await open_streams(client, gateway, STREAMS)
            await asyncio.wait_for(all_started.wait(), 20)
            signalled = time.monotonic()
            gateway.signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            assert refuses_connections(gateway.port), "no new connections while draining"
            bodies = await asyncio.gather(*tasks)
        assert gateway.process is not None
        exit_code = await asyncio.to_thread(gateway.process.wait, 20)
        took = time.monotonic() - signalled
    parsed: list[ParsedStream] = [parse_sse(body) for body in bodies]
    assert all(stream.done and not stream.errors for stream in parsed)
    assert exit_code == 0
    assert took < 15, "exited soon after the last stream finished"


async def test_streams_beyond_the_grace_period_end_with_a_shutdown_event() -> None:
    with gateway_processes(1, settings(tokens_per_second=1, grace=1.0)) as (gateway,):
        limits = httpx.Limits(max_connections=STREAMS + 5)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            tasks, all_started = await open_streams(client, gateway, STREAMS)
            await asyncio.wait_for(all_started.wait(), 20)
            signalled = time.monotonic()
            gateway.signal(signal.SIGTERM)
            bodies = await asyncio.gather(*tasks)
            ended = time.monotonic() - signalled
        assert gateway.process is not None
        exit_code = await asyncio.to_thread(gateway.process.wait, 20)
        output = gateway.output()
    parsed = [parse_sse(body) for body in bodies]
    for stream in parsed:
        assert not stream.done, "a cut stream never ends with [DONE]"
        assert [error["code"] for error in stream.errors] == ["server_shutting_down"]
        assert 0 < len(stream.text) < len("This is a mock reply from quart_llm.")
    assert exit_code == 0
    assert ended < 8, "the 12 s answers were ended after the 1 s grace period"
    assert "grace period over: ending 50 answers" in output


async def test_h2_streams_in_flight_finish_and_new_ones_are_refused() -> None:
    """50 streams multiplexed on one HTTP/2 connection (a raw h2 client, see above): SIGTERM,
    then a new stream on the same connection is refused while the 50 finish."""
    import json

    import h2.config
    import h2.connection
    import h2.events

    with gateway_processes(1, settings(tokens_per_second=8, grace=20)) as (gateway,):
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        connection.initiate_connection()
        body = json.dumps(BODY).encode()

        def headers(path: str, method: str) -> list[tuple[str, str]]:
            return [
                (":method", method),
                (":path", path),
                (":scheme", "http"),
                (":authority", "127.0.0.1"),
                ("authorization", f"Bearer {TEST_KEY}"),
                ("content-type", "application/json"),
            ]

        stream_ids = [1 + 2 * index for index in range(STREAMS)]
        for stream_id in stream_ids:
            connection.send_headers(stream_id, headers("/v1/chat/stream", "POST"))
            connection.send_data(stream_id, body, end_stream=True)
        writer.write(connection.data_to_send())
        await writer.drain()
        await asyncio.sleep(0.5)
        gateway.signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        late = stream_ids[-1] + 2
        connection.send_headers(late, headers("/v1/models", "GET"), end_stream=True)
        writer.write(connection.data_to_send())
        events: list[h2.events.Event] = []
        data_by_stream: dict[int, bytes] = dict.fromkeys(stream_ids, b"")
        while not any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
            received = await asyncio.wait_for(reader.read(65536), 10)
            if not received:
                break
            for event in connection.receive_data(received):
                events.append(event)
                if isinstance(event, h2.events.DataReceived):
                    data_by_stream[event.stream_id] += event.data
                    connection.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
            writer.write(connection.data_to_send())
        writer.close()
    resets = [e.stream_id for e in events if isinstance(e, h2.events.StreamReset)]
    ended = [e.stream_id for e in events if isinstance(e, h2.events.StreamEnded)]
    assert resets == [late], "the new stream is refused"
    assert sorted(ended) == stream_ids, "the streams in flight finish"
    for stream_id in stream_ids:
        assert parse_sse(data_by_stream[stream_id].decode()).done
