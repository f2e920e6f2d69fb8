"""deploy/nginx.conf for real: nginx in front of two `python -m quart_llm serve` replicas that
share one Redis. Streams pass through unbuffered, requests reach both replicas, and the
replicas agree on usage."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.clients.nginx import loopback_config, running_nginx
from tests.conftest import AUTH
from tests.support.gateway_process import GatewayProcess, gateway_processes
from tests.support.ports import free_port
from tests.support.redis_server import delete_prefix
from tests.support.sse_reader import parse_sse

HELLO = {"model": "mock/mock-1", "messages": [{"role": "user", "content": "Hello there"}]}
EXPECTED = "This is a mock reply from quart_llm. You said: Hello there"
TOKENS_PER_SECOND = 4  # 11 tokens: the first after ~0.25 s, the last after ~2.75 s


@dataclass
class Stack:
    base_url: str
    replicas: list[GatewayProcess]
    access_log: Path

    def upstreams_seen(self) -> set[str]:
        return set(re.findall(r"upstream=(\S+)", self.access_log.read_text(errors="replace")))


@pytest.fixture(scope="module")
def stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prefix = f"quart_llm_test:{uuid.uuid4().hex}"
    settings = {"redis_url": redis_url, "redis_key_prefix": prefix, "trusted_proxy_hops": 1}
    slow_mock = {"QUART_LLM_PROVIDERS__MOCK__OPTIONS__TOKENS_PER_SECOND": str(TOKENS_PER_SECOND)}
    try:
        with gateway_processes(2, settings, slow_mock) as replicas:
            port = free_port()
            config = loopback_config(
                [f"127.0.0.1:{replica.port}" for replica in replicas], listen=f"127.0.0.1:{port}"
            )
            with running_nginx(config, tmp_path_factory.mktemp("nginx"), port) as log:
                yield Stack(f"http://127.0.0.1:{port}", replicas, log)
    finally:
        delete_prefix(redis_url, prefix)


def test_stream_passes_through_unbuffered(stack: Stack) -> None:
    started = time.monotonic()
    first_event_at: float | None = None
    body = ""
    with (
        httpx.Client(timeout=30) as client,
        client.stream(
            "POST", f"{stack.base_url}/v1/chat/stream", json=HELLO, headers=AUTH
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for text in response.iter_text():
            if first_event_at is None and "data: " in text:
                first_event_at = time.monotonic() - started
            body += text
    finished_at = time.monotonic() - started
    stream = parse_sse(body)
    assert stream.done
    assert stream.text == EXPECTED
    assert first_event_at is not None
    assert finished_at > 2.0, "the mock takes ~2.75 s for the whole answer"
    assert first_event_at < finished_at - 1.5, (
        f"first event at {first_event_at:.2f} s, end at {finished_at:.2f} s: nginx buffered"
    )


def test_requests_reach_every_replica(stack: Stack) -> None:
    with httpx.Client(timeout=10) as client:
        for _ in range(8):
            assert client.get(f"{stack.base_url}/v1/models", headers=AUTH).status_code == 200
    wanted = {f"127.0.0.1:{replica.port}" for replica in stack.replicas}
    deadline = time.monotonic() + 5
    while not wanted <= stack.upstreams_seen() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wanted <= stack.upstreams_seen()


def test_replicas_share_usage_through_redis(stack: Stack) -> None:
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{stack.base_url}/v1/chat/completions", json=HELLO, headers=AUTH)
        assert answer.status_code == 200
        assert answer.json()["choices"][0]["message"]["content"] == EXPECTED
        reports = [
            client.get(f"{replica.base_url}/v1/usage", headers=AUTH).json()["total"]
            for replica in stack.replicas
        ]
    assert reports[0]["requests"] >= 1
    assert reports[0] == reports[1]


def test_no_reachable_replica_is_a_json_error(tmp_path: Path) -> None:
    port = free_port()
    config = loopback_config([f"127.0.0.1:{free_port()}"], listen=f"127.0.0.1:{port}")
    with running_nginx(config, tmp_path, port):
        response = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=10)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    error = response.json()["error"]
    assert error["code"] == "gateway_unreachable"
    assert re.fullmatch(r"[0-9a-f]{32}", error["request_id"])
