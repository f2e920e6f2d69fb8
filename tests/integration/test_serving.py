"""A real Hypercorn server on 127.0.0.1, reached over HTTP/1.1, h2c and TLS with ALPN h2."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from quart_llm import create_app
from tests.conftest import AUTH
from tests.support.live_server import LiveServer, running_gateway
from tests.support.sse_reader import parse_sse


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with running_gateway() as live:
        yield live


async def test_health_over_http1(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get("/v1/health")
    assert response.http_version == "HTTP/1.1"
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["providers"]["mock"]["reachable"] is True


async def test_health_over_h2c_prior_knowledge(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, http1=False, http2=True) as client:
        response = await client.get("/v1/health")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_errors_over_h2c_are_json(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, http1=False, http2=True) as client:
        response = await client.get("/v1/models")
    assert response.http_version == "HTTP/2"
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_health_over_tls_negotiates_h2_with_alpn(tmp_path: Path) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.private_key_pem.write_to_path(str(keyfile))
    certificate.cert_chain_pems[0].write_to_path(str(certfile))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with running_gateway(certfile=str(certfile), keyfile=str(keyfile)) as live:
        assert live.base_url.startswith("https://")
        with httpx.Client(base_url=live.base_url, http2=True, verify=context) as client:
            response = client.get("/v1/health")
    assert response.http_version == "HTTP/2"
    assert response.json()["status"] == "ok"


def test_quart_response_timeout_does_not_cut_a_stream() -> None:
    app = create_app({"providers": {"mock": {"options": {"tokens_per_second": 12}}}})
    app.config["RESPONSE_TIMEOUT"] = 0.3
    live = LiveServer(app)
    live.start()
    try:
        with httpx.Client(base_url=live.base_url, timeout=10) as client:
            started = time.monotonic()
            response = client.post(
                "/v1/chat/stream",
                headers=AUTH,
                json={"model": "mock-1", "messages": [{"role": "user", "content": "a b c"}]},
            )
            elapsed = time.monotonic() - started
    finally:
        live.stop()
    parsed = parse_sse(response.text)
    assert elapsed > 0.3, "the stream lasted longer than RESPONSE_TIMEOUT"
    assert parsed.done
    assert parsed.text.endswith("You said: a b c")
