"""The work behind the chat routes: route, admit, call the upstream, shape the answer, settle.

A chat request is one `ChatCall`, an `UpstreamCall` (`services/upstream_call`): routed and
admitted once, with one `Deadline` for all its waits, answered by the first route that answers
(retries and fallbacks), and settled exactly once however it ends, through `settle`: the real
usage and cost replace the reservation. The upstream is asked for what was reserved: the call's
request carries the output limit decided at admission, and a whole answer past it is cut here
(a stream, in `chat_events`; the counting rules are in `streaming/output_limit`). A whole
answer settles before it is sent; a stream settles when it ends (disconnects included). What
the call learns goes into the request's record; the web layer finishes the record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quart_llm.errors import UpstreamTimeout
from quart_llm.observability.request_record import RequestRecord
from quart_llm.observability.request_trace import AttemptRequest, input_messages
from quart_llm.providers.answers import Completion, TokenUsage
from quart_llm.providers.token_estimates import estimate_prompt_tokens, estimate_tokens_for_chars
from quart_llm.routing.deadline import Deadline
from quart_llm.routing.route import Route
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.services.container import Services
from quart_llm.services.keys import Principal
from quart_llm.services.upstream_call import UpstreamCall, admitted
from quart_llm.streaming.output_limit import FINISH_AT_LIMIT, capped_usage, text_over_limit


@dataclass(slots=True)
class WholeAnswer:
    """A whole chat completion, ready to send as JSON."""

    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(slots=True, kw_only=True)
class ChatCall(UpstreamCall):
    """One chat request from admission to settlement (made by `admit`)."""

    request: ChatRequest
    """The request as the upstream gets it: with the output limit decided at admission."""
    completion_id: str = field(init=False)

    def __post_init__(self) -> None:
        UpstreamCall.__post_init__(self)
        self.completion_id = "chatcmpl-" + self.services.ids.hex(12)

    @classmethod
    async def admit(
        cls, services: Services, principal: Principal, request: ChatRequest, record: RequestRecord
    ) -> ChatCall:
        """Plan the request's routes (refusing what no provider of them can do), take a place
        in the process's capacity, then its quotas: a concurrency slot and its worst case in
        tokens, which sets its output limit."""
        plan = services.router.plan(request)
        record.operation, record.requested_model = "chat", request.model
        record.provider = plan.routes[0].provider.name
        record.model = plan.routes[0].model
        prompt_estimate = estimate_prompt_tokens(request.messages)
        admission = await admitted(
            services,
            principal,
            plan,
            request.model,
            prompt_estimate,
            request.output_limit,
            request.n or 1,
        )
        return cls(
            services=services,
            request=request.with_output_limit(admission.output_limit),
            record=record,
            plan=plan,
            prompt_estimate=prompt_estimate,
            admission=admission,
        )

    def traced_request(self, with_content: bool) -> AttemptRequest:
        """What the attempts' spans say of the request (its messages only `with_content`)."""
        request = self.request
        messages = None
        if with_content:
            messages = input_messages(
                [(message.role, message.text()) for message in request.messages]
            )
        return AttemptRequest(
            "chat",
            {
                "gen_ai.request.max_tokens": request.output_limit,
                "gen_ai.request.temperature": request.temperature,
                "gen_ai.request.top_p": request.top_p,
                "gen_ai.request.seed": request.seed,
                "gen_ai.request.choice.count": request.n if request.n and request.n > 1 else None,
                "gen_ai.request.stream": request.stream,
            },
            messages,
        )

    def release_request(self) -> None:
        """Drop the request once a stream has its first answer: nothing after it reads the
        request (attempts, retries and their spans are over), and a stream lives long
        (measured: 2.3 KiB less per open idle stream, the validated request's objects).
        Reading `request` afterwards is a programming error (AttributeError)."""
        del self.request


async def complete_chat(
    services: Services, principal: Principal, request: ChatRequest, record: RequestRecord
) -> WholeAnswer:
    """A whole answer; at shutdown, one still waiting when the grace period ends is a 503."""
    call = await ChatCall.admit(services, principal, request, record)
    completion = await call.whole_answer(whole_answer_attempt(call.request))
    usage, record.output_cut = _held_to_limit(
        completion, call.prompt_estimate, call.admission.output_cap
    )
    record.usage = usage
    if record.trace is not None:
        _trace_answer(record, completion)
    await call.settle(usage)
    return WholeAnswer(_completion_body(call, completion, usage), call.headers)


def whole_answer_attempt(
    request: ChatRequest,
) -> Callable[[Route, Deadline], Awaitable[Completion]]:
    """An attempt at a whole answer from one route, before the request's deadline."""

    async def attempt(route: Route, deadline: Deadline) -> Completion:
        try:
            async with asyncio.timeout_at(deadline.expires_at):
                return await route.provider.complete(request, route.model)
        except TimeoutError:
            raise UpstreamTimeout(
                route.provider.name, f"no complete answer within {deadline.total:g} s"
            ) from None

    return attempt


def _held_to_limit(
    completion: Completion, prompt_estimate: int, cap: int | None
) -> tuple[TokenUsage, bool]:
    """The answer's usage (the upstream's, or estimated), never past the output limit `cap`,
    and whether the answer was over it: then it keeps the share of its text that fits and
    every choice ends with "length"."""
    chars = sum(len(text) for text, _, _ in _output_texts(completion))
    usage = completion.usage or TokenUsage(
        prompt_estimate, estimate_tokens_for_chars(chars), estimated=True
    )
    if cap is None:
        return usage, False
    reported = completion.usage is not None and not completion.usage.estimated
    if not (usage.completion_tokens > cap if reported else text_over_limit(chars, cap)):
        return capped_usage(usage, cap), False
    share = cap / usage.completion_tokens
    for text, message, key in _output_texts(completion):
        message[key] = text[: int(len(text) * share)]
    for choice in completion.choices:
        choice["finish_reason"] = FINISH_AT_LIMIT
    return capped_usage(usage, cap), True


def _output_texts(completion: Completion) -> list[tuple[str, dict[str, Any], str]]:
    """Each text of the answer's messages (content, reasoning) with where it is kept."""
    texts = []
    for choice in completion.choices:
        message = choice.get("message")
        if isinstance(message, dict):
            for key in ("content", "reasoning"):
                text = message.get(key)
                if isinstance(text, str) and text:
                    texts.append((text, message, key))
    return texts


def _trace_answer(record: RequestRecord, completion: Completion) -> None:
    """Note the answer's finish reasons (and its text, with content capture on) for its span."""
    trace = record.trace
    if trace is None:
        return
    trace.finish_reasons = [str(choice.get("finish_reason")) for choice in completion.choices]
    if trace.capture_content:
        trace.output = [
            str(choice["message"].get("content") or "")
            for choice in completion.choices
            if isinstance(choice.get("message"), dict)
        ]


def _completion_body(call: ChatCall, completion: Completion, usage: TokenUsage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": call.completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.route.public_model,
        "provider": call.route.provider.name,
        "choices": completion.choices,
        "usage": usage.to_wire(),
    }
    body.update(completion.extra)
    return body
