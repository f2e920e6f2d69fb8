"""The chat services on their own, without Quart: what a call answers, what it notes in the
request's record, and that its quotas are settled exactly once however it ends."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from quart_llm.config.loader import load_settings
from quart_llm.errors import RateLimited, UpstreamStatusError, UpstreamTimeout
from quart_llm.observability.request_ids import current_request_id
from quart_llm.observability.request_record import RequestRecord
from quart_llm.providers.answers import Completion
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.services.chat import complete_chat
from quart_llm.services.chat_streaming import EventStream, stream_chat
from quart_llm.services.container import Services, build_services
from quart_llm.services.keys import Principal
from quart_llm.services.upstream_call import PROVIDER_HEADER

CALLER = Principal(key_id="key_caller")
HELLO = [{"role": "user", "content": "Hello there"}]
EXPECTED = "This is a mock reply from quart_llm. You said: Hello there"
ONE_AT_A_TIME = {"limits": {"default": {"concurrent_streams": 1}}}


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
async def services(overrides: dict[str, Any]) -> AsyncIterator[Services]:
    built = build_services(load_settings(overrides))
    await built.start()
    yield built
    await built.stop()


def chat(model: str = "mock-1", **fields: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": model, "messages": HELLO, **fields})


def record() -> RequestRecord:
    return RequestRecord("req_test", "POST", "/v1/chat/completions", time.perf_counter())


async def usage_of(services: Services) -> dict[str, Any]:
    report = await services.quotas.usage(CALLER.key_id)
    return {"requests": report.total.requests, "by_model": set(report.total.by_model)}


async def settled(services: Services) -> None:
    """Settlements after a failure run in the background; wait for them."""
    for _ in range(100):
        if not len(services.tasks):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("background settlements did not finish")


async def read_all(stream: EventStream) -> bytes:
    return b"".join([event async for event in stream.events])


async def test_a_whole_answer_is_shaped_noted_and_settled(services: Services) -> None:
    noted = record()
    answer = await complete_chat(services, CALLER, chat(), noted)
    assert answer.body["object"] == "chat.completion"
    assert answer.body["model"] == "mock/mock-1"
    assert answer.body["choices"][0]["message"]["content"] == EXPECTED
    assert answer.headers[PROVIDER_HEADER] == "mock"
    assert (noted.provider, noted.model, noted.retries, noted.fallbacks) == ("mock", "mock-1", 0, 0)
    assert noted.usage is not None and noted.usage.completion_tokens == len(EXPECTED.split())
    assert noted.upstream_started is not None and noted.upstream_seconds > 0
    # Settled before the answer is returned: the usage is already counted.
    assert await usage_of(services) == {"requests": 1, "by_model": {"mock/mock-1"}}


@pytest.mark.parametrize("overrides", [ONE_AT_A_TIME])
async def test_a_failed_whole_answer_frees_its_slot_and_counts_nothing(
    services: Services,
) -> None:
    with pytest.raises(UpstreamStatusError) as failed:
        await complete_chat(services, CALLER, chat("mock-fail-early"), record())
    assert failed.value.status == 503
    await settled(services)
    assert await usage_of(services) == {"requests": 0, "by_model": set()}
    # The one slot is free again.
    await complete_chat(services, CALLER, chat(), record())


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "providers": {"backup": {"kind": "mock"}},
            "fallbacks": {"mock/mock-fail-early": ["backup/mock-1"]},
        }
    ],
)
async def test_a_fallback_answer_names_who_answered(services: Services) -> None:
    noted = record()
    answer = await complete_chat(services, CALLER, chat("mock-fail-early"), noted)
    assert answer.headers[PROVIDER_HEADER] == "backup"
    assert answer.body["model"] == "backup/mock-1"
    assert (noted.provider, noted.model, noted.fallbacks) == ("backup", "mock-1", 1)
    assert await usage_of(services) == {"requests": 1, "by_model": {"backup/mock-1"}}


@pytest.mark.parametrize(
    "overrides",
    [
        {
            "providers": {
                "mock": {
                    "options": {"first_token_delay_seconds": 5.0},
                    "timeouts": {"total": 0.2},
                }
            }
        }
    ],
)
async def test_a_whole_answer_waits_no_longer_than_the_requests_deadline(
    services: Services,
) -> None:
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout, match=r"no complete answer within 0\.2 s"):
        await complete_chat(services, CALLER, chat(), record())
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("overrides", [ONE_AT_A_TIME])
async def test_a_refused_admission_raises_before_any_upstream_call(services: Services) -> None:
    first = await stream_chat(services, CALLER, chat(), record(), include_usage=False)
    with pytest.raises(RateLimited) as refused:
        await complete_chat(services, CALLER, chat(), record())
    assert refused.value.code == "concurrency_limit_exceeded"
    await read_all(first)


async def test_a_stream_ends_once_accounted_then_closed(services: Services) -> None:
    noted = record()
    stream = await stream_chat(services, CALLER, chat(), noted, include_usage=True)
    closed: list[str] = []
    stream.on_close.append(lambda: closed.append(noted.outcome or "none"))
    assert noted.streamed
    assert services.drainer.in_flight == 1
    body = await read_all(stream)
    assert body.endswith(b"data: [DONE]\n\n")
    usage_chunk = orjson.loads(body.split(b"\n\n")[-3].removeprefix(b"data: "))
    assert usage_chunk["usage"]["completion_tokens"] == len(EXPECTED.split())
    assert closed == ["ok"], "the callbacks run once, after the stream was accounted for"
    assert noted.first_chunk_at is not None and noted.gateway_seconds is not None
    assert services.drainer.in_flight == 0
    await settled(services)
    assert await usage_of(services) == {"requests": 1, "by_model": {"mock/mock-1"}}


async def test_an_open_stream_keeps_no_copy_of_its_request(services: Services) -> None:
    request = chat()
    gone = weakref.ref(request.messages[0])
    stream = await stream_chat(services, CALLER, request, record(), include_usage=True)
    del request
    gc.collect()
    assert gone() is None, "the stream outlives its request's objects"
    body = await read_all(stream)
    assert body.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    "overrides", [{"providers": {"mock": {"options": {"tokens_per_second": 50}}}}]
)
async def test_a_stream_left_early_counts_what_was_sent_as_an_estimate(
    services: Services,
) -> None:
    noted = record()
    stream = await stream_chat(services, CALLER, chat(), noted, include_usage=False)
    assert (await anext(stream.events)).startswith(b"data: ")
    await stream.events.aclose()
    assert noted.outcome == "client_gone"
    assert noted.usage is not None and noted.usage.estimated
    assert 0 < noted.usage.completion_tokens < len(EXPECTED.split())
    await settled(services)
    report = await services.quotas.usage(CALLER.key_id)
    assert report.total.estimated_requests == 1


@pytest.mark.parametrize(
    "overrides",
    [{"providers": {"mock": {"options": {"tokens_per_second": 1000}, "timeouts": {"idle": 0.2}}}}],
)
async def test_a_stream_whose_client_stops_reading_ends_as_client_too_slow(
    services: Services,
) -> None:
    noted = record()
    long_chat = chat(messages=[{"role": "user", "content": "word " * 80}])
    stream = await stream_chat(services, CALLER, long_chat, noted, include_usage=False)

    async def stuck_writer() -> None:
        async with contextlib.aclosing(stream.events) as events:
            await anext(events)
            await asyncio.Event().wait()  # a send the client never lets through

    writer = asyncio.create_task(stuck_writer())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(writer, 5)
    assert (noted.outcome, noted.error_code) == ("client_too_slow", "client_too_slow")
    assert services.drainer.in_flight == 0
    await settled(services)


async def test_a_stream_that_fails_midway_ends_with_one_error_event(services: Services) -> None:
    noted = record()
    current_request_id.set("req_midway")
    stream = await stream_chat(
        services, CALLER, chat("mock-fail-midway"), noted, include_usage=True
    )
    current_request_id.set(None)  # the stream remembers the id it was started with
    body = await read_all(stream)
    last = orjson.loads(body.rstrip().split(b"\n\n")[-1].removeprefix(b"data: "))
    assert last["error"]["code"] == "upstream_protocol_error"
    assert last["error"]["request_id"] == "req_midway"
    assert b"[DONE]" not in body
    assert (noted.outcome, noted.error_code) == ("upstream_error", "upstream_protocol_error")


async def test_a_stream_failing_before_its_first_chunk_is_raised(services: Services) -> None:
    with pytest.raises(UpstreamStatusError):
        await stream_chat(services, CALLER, chat("mock-fail-early"), record(), include_usage=True)
    await settled(services)
    assert services.drainer.in_flight == 0
    assert await usage_of(services) == {"requests": 0, "by_model": set()}


@pytest.mark.parametrize("overrides", [ONE_AT_A_TIME])
async def test_a_stream_never_read_is_still_closed_and_settled(services: Services) -> None:
    noted = record()
    stream = await stream_chat(services, CALLER, chat(), noted, include_usage=True)
    closed: list[str | None] = []
    stream.on_close.append(lambda: closed.append(noted.outcome))
    await stream.aclose()
    await stream.aclose()  # idempotent
    assert closed == ["client_gone"]
    assert services.drainer.in_flight == 0
    await settled(services)
    # The prompt reached the upstream: it is charged, as an estimate; the slot is free again.
    report = await services.quotas.usage(CALLER.key_id)
    assert report.total.requests == 1 and report.total.estimated_requests == 1
    await read_all(await stream_chat(services, CALLER, chat(), record(), include_usage=False))


BUDGET_OF_4 = {
    "limits": {
        "default": {
            "tokens": [{"count": 10_000, "period_seconds": 3600}],
            "default_max_tokens": 4,
        }
    }
}


@pytest.mark.parametrize("overrides", [BUDGET_OF_4])
@pytest.mark.parametrize(
    ("words", "kept", "finish_reason"),
    [(100, 16, "length"), (12, 60, "stop")],
    ids=["past-the-bound-on-text", "within-it"],
)
async def test_a_whole_answer_without_usage_is_held_to_its_limit_by_its_text(
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    words: int,
    kept: int,
    finish_reason: str,
) -> None:
    """No usage from the upstream: cut only past 16 characters a token (64 here), keeping
    4 characters a token; either way never charged more than the 4 tokens of the limit."""
    text = "word " * words

    async def runaway(request: ChatRequest, model: str) -> Completion:
        message = {"role": "assistant", "content": text}
        return Completion([{"index": 0, "message": message, "finish_reason": "stop"}])

    monkeypatch.setattr(services.providers["mock"], "complete", runaway)
    noted = record()
    answer = await complete_chat(services, CALLER, chat(), noted)
    (choice,) = answer.body["choices"]
    assert choice["message"]["content"] == text[:kept]
    assert choice["finish_reason"] == finish_reason
    assert answer.body["usage"]["completion_tokens"] == 4
    assert answer.body["usage"]["estimated"] is True
    assert noted.output_cut is (finish_reason == "length")
