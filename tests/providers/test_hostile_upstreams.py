"""The shared HTTP pipeline against hostile upstreams, real servers on loopback: gzip bombs and
encodings nobody asked for, redirects, error bodies that echo keys. Both wire formats (SSE for
`openai`, NDJSON for `ollama`), whole answers and streams."""

import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from quart_llm.config.models import ProviderSettings, ProviderTimeouts
from quart_llm.errors import UpstreamProtocolError, UpstreamStatusError
from quart_llm.providers.http_provider import HTTPProvider
from quart_llm.providers.ollama import OllamaProvider
from quart_llm.providers.openai_compat import OpenAICompatProvider
from quart_llm.schemas.chat_request import ChatRequest
from tests.providers.streams import stream_chunks
from tests.simulators.hostile import JSON, SSE, HostileUpstream, Reply, gzip_bomb
from tests.simulators.scenarios import MIB
from tests.support.secret_echoes import echoes, findable_forms

KEY = "sk-live-Qm7Xv2Lp9Rt4Wz8Kb3Nc6Hd1Jf5Gs0Ya"
NDJSON = (("Content-Type", "application/x-ndjson"),)
PROVIDERS: dict[str, tuple[type[HTTPProvider], str]] = {
    "openai": (OpenAICompatProvider, "/v1"),
    "ollama": (OllamaProvider, ""),
}
CASES = [(kind, streamed) for kind in PROVIDERS for streamed in (False, True)]
CASE_IDS = [f"{kind}-{'stream' if streamed else 'whole'}" for kind, streamed in CASES]
BOMB_PEAK_BOUND = 16 * MIB


def chat() -> ChatRequest:
    return ChatRequest.model_validate(
        {"model": "up/m", "messages": [{"role": "user", "content": "hi"}]}
    )


def answer(kind: str, text: str, *, streamed: bool) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """A correct answer saying `text`, and its content type."""
    if kind == "ollama":
        message = {"role": "assistant", "content": text}
        done = {"message": {"role": "assistant", "content": ""}, "done": True, "eval_count": 1}
        if streamed:
            lines = [{"message": message, "done": False}, done]
            return b"".join(orjson.dumps(line) + b"\n" for line in lines), NDJSON
        return orjson.dumps({"message": message, "done": True}), JSON
    if streamed:
        events = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        body = b"".join(b"data: " + orjson.dumps(event) + b"\n\n" for event in events)
        return body + b"data: [DONE]\n\n", SSE
    choice = {"index": 0, "message": {"role": "assistant", "content": text}}
    return orjson.dumps({"choices": [{**choice, "finish_reason": "stop"}]}), JSON


@asynccontextmanager
async def hostile(
    kind: str, replies: dict[str, Reply], **options: Any
) -> AsyncIterator[tuple[HTTPProvider, HostileUpstream]]:
    with HostileUpstream(replies) as upstream:
        provider_class, prefix = PROVIDERS[kind]
        settings = ProviderSettings.model_validate(
            {
                "kind": kind,
                "base_url": upstream.base_url + prefix,
                "api_key": KEY,
                "timeouts": ProviderTimeouts(connect=2.0, first_byte=5.0, idle=5.0, total=10.0),
                "options": options,
            }
        )
        provider = provider_class("up", settings)
        await provider.start()
        try:
            yield provider, upstream
        finally:
            await provider.aclose()


async def ask(provider: HTTPProvider, model: str, *, streamed: bool) -> str:
    """The text of the answer to `model`."""
    if streamed:
        chunks = [chunk async for chunk in stream_chunks(provider, chat(), model)]
        deltas = [choice["delta"] for chunk in chunks for choice in chunk.choices]
        return "".join(delta.get("content") or "" for delta in deltas)
    completion = await provider.complete(chat(), model)
    return str(completion.choices[0]["message"]["content"])


# Content encodings


@pytest.mark.parametrize(("kind", "streamed"), CASES, ids=CASE_IDS)
async def test_a_gzip_bomb_is_a_502_and_costs_at_most_the_bound(kind: str, streamed: bool) -> None:
    content_type = (NDJSON if kind == "ollama" else SSE) if streamed else JSON
    bomb = Reply(200, (*content_type, ("Content-Encoding", "gzip")), gzip_bomb())
    async with hostile(kind, {"bomb": bomb}, max_line_bytes=MIB) as (provider, _):
        tracemalloc.start()
        try:
            with pytest.raises(UpstreamProtocolError) as info:
                await ask(provider, "bomb", streamed=streamed)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert info.value.status == 502
    assert peak < BOMB_PEAK_BOUND, f"{peak / MIB:.1f} MiB allocated at the peak"


@pytest.mark.parametrize(("kind", "streamed"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "x-gzip"])
async def test_a_compressed_answer_is_decoded(kind: str, streamed: bool, encoding: str) -> None:
    body, content_type = answer(kind, "café " * 30_000, streamed=streamed)
    compressed = gzip.compress(body) if "gzip" in encoding else zlib.compress(body)
    reply = Reply(200, (*content_type, ("Content-Encoding", encoding)), compressed)
    async with hostile(kind, {"m": reply}) as (provider, _):
        assert await ask(provider, "m", streamed=streamed) == "café " * 30_000


async def test_the_decoded_bound_ends_a_long_compressed_stream() -> None:
    comments = gzip.compress(b": still working\n\n" * 200_000)
    reply = Reply(200, (*SSE, ("Content-Encoding", "gzip")), comments)
    async with hostile("openai", {"m": reply}, max_decoded_bytes=MIB) as (provider, _):
        with pytest.raises(UpstreamProtocolError, match=f"decoded body exceeds {MIB} bytes"):
            await ask(provider, "m", streamed=True)


@pytest.mark.parametrize(("kind", "streamed"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ("br", "'br'"),
        ("zstd", "'zstd'"),
        ("gzip, gzip", "'gzip, gzip'"),
        (f"x-{KEY}", "(not shown)"),
    ],
)
async def test_an_encoding_that_cannot_be_decoded_is_refused_by_name(
    kind: str, streamed: bool, encoding: str, named: str
) -> None:
    body, content_type = answer(kind, "hello", streamed=streamed)
    reply = Reply(200, (*content_type, ("Content-Encoding", encoding)), body)
    async with hostile(kind, {"m": reply}) as (provider, _):
        with pytest.raises(UpstreamProtocolError) as info:
            await ask(provider, "m", streamed=streamed)
    assert f"encoded as {named}, which cannot be decoded" in info.value.message
    assert KEY[3:] not in info.value.message


# Redirects


@pytest.mark.parametrize(("kind", "streamed"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_an_error_never_followed(
    kind: str, streamed: bool, status: int
) -> None:
    body, content_type = answer(kind, "relayed", streamed=streamed)
    replies = {"m": Reply(status, content_type, body)}
    async with hostile(kind, replies) as (provider, upstream):
        location = f"{upstream.base_url}/v1/chat/completions?key={KEY}"
        upstream.replies["m"] = Reply(status, (*content_type, ("Location", location)), body)
        with pytest.raises(UpstreamProtocolError) as info:
            await ask(provider, "m", streamed=streamed)
        assert len(upstream.requests) == 1
    assert info.value.status == 502
    assert info.value.code == "upstream_protocol_error"
    assert f"upstream answered {status}, a redirect" in info.value.message
    assert "relayed" not in info.value.message
    assert KEY not in info.value.message


# Upstream words


def echo_replies(kind: str, *, in_band: bool) -> dict[str, Reply]:
    """One reply for each form of the key an upstream may echo, each in its own error."""
    replies: dict[str, Reply] = {}
    for index, form in enumerate(echoes(KEY).values()):
        error = orjson.dumps({"error": {"message": f"Bad key: {form}", "code": "bad_key"}})
        if not in_band:
            replies[f"m{index}"] = Reply((400, 401, 500)[index % 3], JSON, error)
            continue
        text, content_type = answer(kind, "partial", streamed=True)
        first = text.split(b"\n")[0] + (b"\n\n" if kind == "openai" else b"\n")
        body = first + (b"data: " + error + b"\n\n" if kind == "openai" else error + b"\n")
        replies[f"m{index}"] = Reply(200, content_type, body)
    return replies


def leaked_forms(messages: list[str]) -> list[str]:
    said = "\n".join(messages)
    return [name for name, form in findable_forms(KEY).items() if form in said]


@pytest.mark.parametrize(("kind", "streamed"), CASES, ids=CASE_IDS)
async def test_echoed_keys_never_reach_an_error_message(kind: str, streamed: bool) -> None:
    messages: list[str] = []
    async with hostile(kind, echo_replies(kind, in_band=False)) as (provider, upstream):
        for model in upstream.replies:
            with pytest.raises(UpstreamStatusError) as info:
                await ask(provider, model, streamed=streamed)
            assert info.value.upstream_status in (400, 401, 500)
            assert "message withheld" in info.value.message
            messages.append(info.value.message)
    assert leaked_forms(messages) == []


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_echoed_keys_never_reach_an_in_band_error(kind: str) -> None:
    messages: list[str] = []
    async with hostile(kind, echo_replies(kind, in_band=True)) as (provider, upstream):
        for model in upstream.replies:
            with pytest.raises(UpstreamProtocolError) as info:
                await ask(provider, model, streamed=True)
            assert info.value.code == "upstream_stream_error"
            messages.append(info.value.message)
    assert leaked_forms(messages) == []


async def test_ordinary_upstream_words_are_still_shown_bounded() -> None:
    message = "This model's maximum context length is 8192 tokens.\x1b[0m\u202e" + "x" * 5000
    body = orjson.dumps({"error": {"message": message}})
    async with hostile("openai", {"m": Reply(400, JSON, body)}) as (provider, _):
        with pytest.raises(UpstreamStatusError) as info:
            await ask(provider, "m", streamed=False)
    shown = info.value.message
    assert "maximum context length is 8192 tokens." in shown
    assert "\x1b" not in shown and "\u202e" not in shown
    assert len(shown) < 300
