"""What reaches a client, a log line or `/v1/health` when an upstream is hostile: a live
gateway (real Hypercorn, real HTTP) in front of a loopback upstream that echoes keys in
transformed forms, redirects, or sends a gzip bomb; and the gateway's own answers to paths
werkzeug would redirect."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.simulators.hostile import JSON, SSE, HostileUpstream, Reply, gzip_bomb
from tests.simulators.scenarios import MIB
from tests.support.gateway_process import gateway_processes
from tests.support.live_server import LiveServer, running_gateway
from tests.support.log_capture import capturing_logs
from tests.support.secret_echoes import echoes, findable_forms

UPSTREAM_KEY = "sk-or-v1-7f3a9c1e5b2d8f4a6c0e9b3d7f1a5c8e"
GATEWAY_KEY = "qlk_live_Hs9dK2mPq4vX8zR1nB6tY3wF5gJ0cLe7"
METRICS_TOKEN = "mtk_Wq5Er8Ty1Ui4Op7As0Df3Gh6Jk9Lz2Xc"
SECRETS = {"upstream key": UPSTREAM_KEY, "API key": GATEWAY_KEY, "metrics token": METRICS_TOKEN}
AUTH = {"Authorization": f"Bearer {GATEWAY_KEY}"}
NO_RESILIENCE = {"retry": {"attempts": 0}, "circuit": {"failure_threshold": 1_000_000}}
TIMEOUTS = {"connect": 2.0, "first_byte": 5.0, "idle": 5.0, "total": 20.0}
COMPLETION = orjson.dumps(
    {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "relayed from a redirect"},
                "finish_reason": "stop",
            }
        ]
    }
)
FIRST = b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
REDIRECTED_STREAM = (
    b'data: {"choices": [{"index": 0, "delta": {"content": "relayed from a redirect"}, '
    b'"finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'
)


def gateway_settings(upstream: HostileUpstream, **options: Any) -> dict[str, Any]:
    return {
        "api_keys": [GATEWAY_KEY],
        "default_provider": "hostile",
        "metrics": {"token": METRICS_TOKEN},
        "health": {"cache_seconds": 0},
        "sse": {"keepalive_seconds": 2.0},
        "providers": {
            "hostile": {
                "kind": "openai",
                "base_url": f"{upstream.base_url}/v1",
                "api_key": UPSTREAM_KEY,
                "timeouts": TIMEOUTS,
                "options": options,
                **NO_RESILIENCE,
            }
        },
    }


@contextmanager
def hostile_gateway(
    replies: dict[str, Reply], probe: Reply | None = None
) -> Iterator[tuple[LiveServer, HostileUpstream]]:
    with (
        HostileUpstream(replies, probe) as upstream,
        running_gateway(gateway_settings(upstream)) as gateway,
    ):
        yield gateway, upstream


def chat_body(model: str, stream: bool) -> dict[str, Any]:
    return {
        "model": f"hostile/{model}",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
    }


def everything_said(response: httpx.Response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.multi_items())
    return f"{response.status_code}\n{headers}\n{response.text}"


async def test_transformed_echoes_of_any_secret_reach_no_client_log_or_health(
    capfd: pytest.CaptureFixture[str],
) -> None:
    replies: dict[str, Reply] = {}
    for secret in SECRETS.values():
        for form in echoes(secret).values():
            error = orjson.dumps({"error": {"message": f"Bad key: {form}", "code": 401}})
            replies[f"status-{len(replies)}"] = Reply(400 + len(replies) % 2, JSON, error)
            replies[f"mid-stream-{len(replies)}"] = Reply(
                200, SSE, FIRST + b"data: " + error + b"\n\n"
            )
    probe_said = orjson.dumps({"error": {"message": f"Bad key {UPSTREAM_KEY.upper()}"}})
    probe = Reply(401, JSON, probe_said)
    said: list[str] = []
    with capturing_logs() as logs, hostile_gateway(replies, probe) as (gateway, _):
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=20) as client:
            for model in replies:
                for stream in (False, True) if model.startswith("status") else (True,):
                    response = await client.post(
                        "/v1/chat/completions", json=chat_body(model, stream), headers=AUTH
                    )
                    said.append(everything_said(response))
            health = await client.get("/v1/health")
            said.append(everything_said(health))
    captured = capfd.readouterr()
    haystacks = {
        "responses": "\n".join(said),
        "log records": "\n".join(logs.texts),
        "output": captured.out + captured.err,
    }
    leaks = [
        f"{form_name} of the {secret_name} in {where}"
        for secret_name, secret in SECRETS.items()
        for form_name, form in findable_forms(secret).items()
        for where, haystack in haystacks.items()
        if form in haystack
    ]
    assert leaks == []
    assert health.json()["providers"]["hostile"]["error"] == "upstream_error"
    assert health.json()["providers"]["hostile"]["reachable"] is False
    assert "message withheld" in haystacks["responses"]
    assert "upstream_stream_error" in haystacks["responses"]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_an_upstream_redirect_is_a_502_and_nothing_of_it_is_relayed(status: int) -> None:
    location = ("Location", "http://127.0.0.1:9/elsewhere")
    replies = {
        "whole": Reply(status, (*JSON, location), COMPLETION),
        "streamed": Reply(status, (*SSE, location), REDIRECTED_STREAM),
    }
    with hostile_gateway(replies) as (gateway, upstream):
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=20) as client:
            for model, stream in (("whole", False), ("streamed", True), ("whole", True)):
                body = chat_body(model, stream)
                response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
                assert response.status_code == 502, response.text
                assert response.json()["error"]["code"] == "upstream_protocol_error"
                assert "a redirect" in response.json()["error"]["message"]
                assert "location" not in response.headers
                assert "relayed" not in response.text
                assert "elsewhere" not in response.text
        assert [request.method for request in upstream.requests].count("POST") == 3


NOT_ROUTES = [
    ("GET", "/v1//usage"),
    ("GET", "//v1/usage"),
    ("GET", "/v1/usage/"),
    ("GET", "/v1//models"),
    ("GET", "/v1/models/"),
    ("GET", "/v1//health"),
    ("GET", "/v1/health/"),
    ("GET", "//metrics"),
    ("POST", "/v1//chat/completions"),
    ("POST", "/v1/chat/completions/"),
]


async def test_no_path_is_answered_with_a_redirect() -> None:
    with running_gateway() as gateway:
        async with httpx.AsyncClient(timeout=10) as client:
            for method, path in NOT_ROUTES:
                for auth in ({}, AUTH):
                    response = await client.request(
                        method,
                        f"{gateway.base_url}{path}",
                        headers={"Host": "attacker.example", **auth},
                        json={} if method == "POST" else None,
                    )
                    assert response.request.url.raw_path == path.encode()
                    assert response.status_code == 404, (method, path, response.status_code)
                    assert "location" not in response.headers, (method, path)
                    assert response.json()["error"]["code"] == "not_found", (method, path)
                    assert "attacker" not in response.text


def peak_rss(pid: int) -> int:
    """The process's resident-set high-water mark (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc")


BOMBS = 4
PEAK_GROWTH_BOUND = 48 * MIB


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
async def test_gzip_bombs_cost_a_gateway_process_at_most_the_bound() -> None:
    bomb = gzip_bomb()
    gzip = ("Content-Encoding", "gzip")
    ok_stream = b'data: {"choices": [{"index": 0, "delta": {"content": "ok"}}]}\n\n'
    replies = {
        "whole-bomb": Reply(200, (*JSON, gzip), bomb),
        "stream-bomb": Reply(200, (*SSE, gzip), bomb),
        "ok-whole": Reply(200, JSON, COMPLETION),
        "ok-stream": Reply(200, SSE, ok_stream + b"data: [DONE]\n\n"),
    }
    with HostileUpstream(replies) as upstream:
        settings = gateway_settings(upstream, max_line_bytes=MIB)
        with gateway_processes(1, settings) as (gateway,):
            assert gateway.process is not None
            async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as client:

                async def chat(model: str, stream: bool) -> httpx.Response:
                    body = chat_body(model, stream)
                    return await client.post("/v1/chat/completions", json=body, headers=AUTH)

                assert (await chat("ok-whole", False)).status_code == 200
                assert (await chat("ok-stream", True)).status_code == 200
                before = peak_rss(gateway.process.pid)
                answers = await asyncio.gather(
                    *(chat(("whole-bomb", "stream-bomb")[i % 2], bool(i % 2)) for i in range(BOMBS))
                )
                after = peak_rss(gateway.process.pid)
    for response in answers:
        assert response.status_code == 502, response.text
        assert response.json()["error"]["code"] == "upstream_protocol_error"
    growth = after - before
    assert growth < PEAK_GROWTH_BOUND, f"peak RSS grew {growth / MIB:.0f} MiB"
