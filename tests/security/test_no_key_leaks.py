"""No key ever leaves the gateway: not in a log line, a response header or a response body.

One live gateway in front of the three simulators (upstream key configured) and the mock
serves successes, streams and every kind of error while all log output at DEBUG (formatted as
the gateway formats it, and as plain lines with tracebacks) and every response is kept; then
neither a gateway key, nor a wrong key a client presented, nor the upstream key, nor any of
their SHA-256 digests may appear in any of it. Key ids may.

Left out: `hpack`'s DEBUG records, which print every decoded HTTP/2 header (Authorization
included) whenever the root logger is at DEBUG; the gateway never turns them on. Hypercorn's
access records carry every request header and the process environment as arguments: the
gateway serves with Hypercorn's access log off and writes its own access line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from quart_llm import create_app
from quart_llm.errors import AuthenticationFailed
from quart_llm.server.serving import load_hypercorn_config
from quart_llm.services.keys import KeyRing, key_id_for_key
from quart_llm.web.auth import authenticate
from tests.integration.gateway_with_simulators import (
    UPSTREAM_KEY,
    gateway_overrides,
    simulator_config,
)
from tests.simulators import OllamaSimulator, OpenAICompatSimulator
from tests.support.live_server import LiveServer
from tests.support.log_capture import capturing_logs

KEY = "qlk_live_7Hs9dK2mPq4vX8zR1nB6tY3wF5gJ0cLe"
HASHED_KEY = "qlk_live_Zt4Nw8Qe2Ry6Ui0Op3As7Df1Gh5Jk9Lx"
LIMITED_KEY = "qlk_live_Lm3Nb7Vc1Xz5As9Df2Gh6Jk0Qw4Er8Ty"
WRONG_KEY = "sk-proj-Qx8vN3mK7pL2wR9tY4bH6jD1fG5sA0zEu"
NEAR_MISS_KEY = KEY[:-1] + "f"
SECRETS = (KEY, HASHED_KEY, LIMITED_KEY, WRONG_KEY, NEAR_MISS_KEY, UPSTREAM_KEY)
PROVIDERS = ("openai", "ollama", "openrouter")


def forbidden_texts() -> dict[str, str]:
    texts: dict[str, str] = {}
    for secret in SECRETS:
        digest = hashlib.sha256(secret.encode()).digest()
        texts[secret] = secret
        texts[f"sha256 hex of {secret}"] = digest.hex()
        texts[f"SHA256 HEX of {secret}"] = digest.hex().upper()
        texts[f"sha256 base64 of {secret}"] = base64.b64encode(digest).decode().rstrip("=")
        texts[f"sha256 base64url of {secret}"] = (
            base64.urlsafe_b64encode(digest).decode().rstrip("=")
        )
    return texts


def leak_gateway_overrides(
    ollama: OllamaSimulator, openai: OpenAICompatSimulator, openrouter: OpenAICompatSimulator
) -> dict[str, Any]:
    hashed = "sha256:" + hashlib.sha256(HASHED_KEY.encode()).hexdigest()
    overrides = gateway_overrides(ollama, openai, openrouter)
    overrides.update(
        api_keys=[KEY, hashed, LIMITED_KEY],
        logging={"level": "DEBUG", "format": "json"},
        limits={
            "tiers": {
                "tiny": {
                    "requests": [{"count": 2, "period_seconds": 3600}],
                    "tokens": [{"count": 200, "period_seconds": 3600}],
                }
            },
            "keys": {key_id_for_key(LIMITED_KEY): "tiny"},
        },
    )
    return overrides


class Recorder:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.texts: list[str] = []
        self.statuses: list[tuple[str, int]] = []

    def keep(self, label: str, response: httpx.Response) -> httpx.Response:
        self.statuses.append((label, response.status_code))
        self.texts.append(
            f"{response.http_version} {response.status_code} {response.reason_phrase}"
        )
        self.texts.extend(f"{name}: {value}" for name, value in response.headers.multi_items())
        self.texts.append(response.content.decode("utf-8", "replace"))
        return response

    async def send(
        self,
        label: str,
        method: str,
        path: str,
        key: str | None = KEY,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        http2: bool = False,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if key is not None:
            all_headers.setdefault("Authorization", f"Bearer {key}")
        if content is not None:
            all_headers.setdefault("Content-Type", "application/json")
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=30, http1=not http2, http2=http2
        ) as client:
            response = await client.request(
                method, path, json=json, content=content, headers=all_headers
            )
        return self.keep(label, response)

    async def chat(
        self, label: str, model: str, route: str = "/v1/chat/completions", **fields: Any
    ) -> httpx.Response:
        key = fields.pop("key", KEY)
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **fields}
        return await self.send(label, "POST", route, key, json=body)


async def exercise(r: Recorder) -> None:
    await r.send("health", "GET", "/v1/health", None)
    await r.send("openapi", "GET", "/openapi.json", None)
    await r.send("openapi-3.1", "GET", "/openapi-3.1.json", None)
    await r.send("models", "GET", "/v1/models")
    await r.send("models-hashed-key", "GET", "/v1/models", HASHED_KEY)
    await r.send("models-h2", "GET", "/v1/models", http2=True)
    await r.send("usage", "GET", "/v1/usage")

    await r.chat("mock-whole", "mock/mock-1")
    await r.chat("mock-stream", "mock/mock-1", stream=True)
    await r.chat("mock-stream-route", "mock/mock-1", route="/v1/chat/stream")
    await r.chat("mock-hashed-key", "mock/mock-1", key=HASHED_KEY)
    for provider in PROVIDERS:
        await r.chat(f"{provider}-whole", f"{provider}/sim/normal")
        await r.chat(f"{provider}-stream", f"{provider}/sim/normal", route="/v1/chat/stream")

    for label, headers in {
        "wrong-key": {"Authorization": f"Bearer {WRONG_KEY}"},
        "near-miss-key": {"Authorization": f"Bearer {NEAR_MISS_KEY}"},
        "lowercase-scheme": {"Authorization": f"bearer {WRONG_KEY}"},
        "basic-scheme": {"Authorization": f"Basic {WRONG_KEY}"},
        "token-scheme": {"Authorization": f"Token {WRONG_KEY}"},
        "two-tokens": {"Authorization": f"Bearer {WRONG_KEY} {WRONG_KEY}"},
        "bare-key": {"Authorization": WRONG_KEY},
        "api-key-header": {"X-API-Key": WRONG_KEY, "api-key": WRONG_KEY},
        "missing": {},
    }.items():
        await r.send(f"401-{label}", "GET", "/v1/models", None, headers=headers)
        await r.send(
            f"401-{label}-chat",
            "POST",
            "/v1/chat/completions",
            None,
            content=b'{"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}',
            headers=headers,
        )
    await r.send("401-h2", "GET", "/v1/usage", WRONG_KEY, http2=True)

    await r.send("400-bad-json", "POST", "/v1/chat/completions", content=b'{"model": ')
    await r.send("400-bad-utf8", "POST", "/v1/chat/stream", content=b'{"model": "\xff"}')
    await r.chat("400-wrong-type", "mock-1", temperature="hot")
    await r.chat("400-unknown-provider", "mock-1", provider="nowhere")
    await r.chat("400-unsupported-field", "mock/mock-1", n=2)
    await r.send(
        "415", "POST", "/v1/chat/completions", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    await r.send("404-route", "GET", "/v1/nowhere")
    await r.send("404-route-wrong-key", "GET", "/v1/nowhere", WRONG_KEY)
    await r.send("405", "DELETE", "/v1/models")
    await r.chat("404-mock-model", "mock/none")

    await r.chat("429-tokens", "mock/mock-1", key=LIMITED_KEY, max_tokens=5000)
    await r.send("limited-models", "GET", "/v1/models", LIMITED_KEY)
    await r.send("429-requests", "GET", "/v1/usage", LIMITED_KEY)

    await r.chat("mock-fail-early", "mock/mock-fail-early", route="/v1/chat/stream")
    await r.chat("mock-fail-midway", "mock/mock-fail-midway", route="/v1/chat/stream")
    for provider in PROVIDERS:
        for scenario in ("unauthorized", "unknown-model", "rate-limited", "html-500"):
            await r.chat(f"{provider}-{scenario}", f"{provider}/sim/{scenario}")
        for scenario in ("error-before-stream", "error-mid-stream", "malformed-line"):
            await r.chat(
                f"{provider}-{scenario}", f"{provider}/sim/{scenario}", route="/v1/chat/stream"
            )
    await r.send("usage-after", "GET", "/v1/usage")
    await r.send("health-after", "GET", "/v1/health", None)


async def test_no_key_appears_in_any_log_header_or_body(capfd: pytest.CaptureFixture[str]) -> None:
    with capturing_logs() as logs, ExitStack() as stack:
        ollama = stack.enter_context(OllamaSimulator(simulator_config()))
        openai = stack.enter_context(OpenAICompatSimulator(simulator_config(), flavor="openai"))
        openrouter = stack.enter_context(
            OpenAICompatSimulator(simulator_config(), flavor="openrouter")
        )
        server = LiveServer(create_app(leak_gateway_overrides(ollama, openai, openrouter)))
        server._config.errorlog = logging.getLogger("hypercorn.error")
        recorder = Recorder(server.base_url)
        server.start()
        try:
            await exercise(recorder)
        finally:
            server.stop()
        upstream_requests = len(openai.requests) + len(ollama.requests) + len(openrouter.requests)

    statuses = dict(recorder.statuses)
    assert statuses["mock-whole"] == statuses["openai-stream"] == statuses["models-h2"] == 200
    assert statuses["models-hashed-key"] == statuses["mock-hashed-key"] == 200
    assert all(status == 401 for label, status in statuses.items() if label.startswith("401-"))
    assert statuses["400-wrong-type"] == statuses["400-bad-utf8"] == 400
    assert statuses["404-route"] == statuses["404-mock-model"] == 404
    assert statuses["429-tokens"] == statuses["429-requests"] == 429
    assert statuses["openai-rate-limited"] == 429
    assert statuses["openai-unauthorized"] == statuses["openai-html-500"] == 502
    assert statuses["mock-fail-early"] == 503
    assert upstream_requests > 0
    assert any("quart_llm.access" in text for text in logs.texts)
    assert not any("hypercorn.access" in text for text in logs.texts), "one access line: ours"
    assert any('"GET /v1/models' in text for text in logs.texts)

    captured = capfd.readouterr()
    haystacks = {
        "log records": "\n".join(logs.texts),
        "responses": "\n".join(recorder.texts),
        "stdout": captured.out,
        "stderr": captured.err,
    }
    assert len(haystacks["responses"]) > 10_000
    leaks = [
        f"{name} in {where}"
        for name, text in forbidden_texts().items()
        for where, haystack in haystacks.items()
        if text in haystack
    ]
    assert leaks == []
    assert key_id_for_key(KEY) in haystacks["log records"] + haystacks["responses"]


def test_hypercorn_writes_no_access_log_of_its_own() -> None:
    """Hypercorn's access format can name any header (`%({Authorization}i)s`) or environment
    variable; the gateway's own access line is the only one."""
    assert load_hypercorn_config().accesslog is None


@pytest.mark.parametrize("presented", [KEY, HASHED_KEY, LIMITED_KEY, WRONG_KEY, NEAR_MISS_KEY])
def test_every_stored_digest_is_compared_whatever_the_key(
    presented: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = "sha256:" + hashlib.sha256(HASHED_KEY.encode()).hexdigest()
    stored = [KEY, hashed, LIMITED_KEY, "fourth-key-for-good-measure"]
    ring = KeyRing([SecretStr(key) for key in stored])
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("quart_llm.services.keys.hmac.compare_digest", spy)
    header = f"Bearer {presented}"
    if presented in (KEY, HASHED_KEY, LIMITED_KEY):
        assert authenticate(ring, header).key_id == key_id_for_key(presented)
    else:
        with pytest.raises(AuthenticationFailed):
            authenticate(ring, header)
    assert len(calls) == len(stored)
    presented_digest = hashlib.sha256(presented.encode()).digest()
    assert {a for a, _ in calls} == {presented_digest}
    assert [b for _, b in calls] == list(ring._digests)
    assert all(isinstance(a, bytes) and len(a) == len(b) == 32 for a, b in calls)
