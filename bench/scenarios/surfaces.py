"""6. The API surfaces beside chat: Anthropic's Messages, OpenAI's Responses and embeddings, each
a whole and (but embeddings) a streamed row, against chat on the same gateway.

Every route runs on one gateway in front of the same nginx answers, interleaved round by round,
so the ratio is what the route's translation costs over chat's own path (the issue's target:
at most 10% more time per answer). Streams are counted in answers per second: each API frames
the same fifteen words in its own events. Embeddings run only when the gateway has the route
(its OpenAPI document lists `/v1/embeddings`); otherwise a note says so.
"""

from __future__ import annotations

import orjson

from bench import bodies, floor_targets
from bench.context import Context, Target
from bench.gateway import auth_headers
from bench.http import request
from bench.report import Row, rate, ratio, times, verdict
from bench.scenarios.common import compare
from bench.tools import BenchError
from bench.wrk import LoadRequest

LABEL = "6 API surfaces"
EMBEDDINGS_ROUTE = "/v1/embeddings"
ROUTES = {
    "chat": ("/v1/chat/completions", bodies.chat_request),
    "messages": ("/v1/messages", bodies.messages_request),
    "responses": ("/v1/responses", bodies.responses_request),
}


def _has_route(port: int, path: str) -> bool:
    answer = request(port, "GET", "/openapi.json")
    if answer.status != 200:
        raise BenchError(f"surfaces: /openapi.json answered {answer.status}")
    return path in orjson.loads(answer.body).get("paths", {})


def _targets(ctx: Context, *, stream: bool) -> list[Target]:
    port = ctx.gateway().port
    model = f"{'sse' if stream else 'whole'}/{bodies.MODEL}"
    targets = [
        Target(name, port, LoadRequest(path, build(model, stream=stream), auth_headers()))
        for name, (path, build) in ROUTES.items()
    ]
    if not stream:
        if _has_route(port, EMBEDDINGS_ROUTE):
            sent = LoadRequest(EMBEDDINGS_ROUTE, bodies.embeddings_request(model), auth_headers())
            targets.append(Target("embeddings", port, sent))
        else:
            ctx.note(
                f"The gateway has no {EMBEDDINGS_ROUTE} route yet: the embeddings row of the API "
                "surfaces was not measured."
            )
    return targets


def _check(target: Target, *, stream: bool) -> None:
    """One real answer: 200, and it carries the upstream's words (or its vector)."""
    sent = target.request
    answer = request(target.port, "POST", sent.path, body=sent.body, headers=sent.headers)
    expected = b'"embedding"' if target.name == "embeddings" else bodies.WORDS[-1].encode()
    if answer.status != 200 or expected not in answer.body:
        raise BenchError(
            f"surfaces: {target.name} answered {answer.status} without {expected!r}: "
            f"{answer.body[:300]!r}"
        )
    if stream and not answer.headers.get("content-type", "").startswith("text/event-stream"):
        raise BenchError(f"surfaces: {target.name} did not stream text/event-stream")


def run(ctx: Context, rows: list[Row]) -> None:
    for stream in (False, True):
        _run(ctx, rows, stream=stream)


def _run(ctx: Context, rows: list[Row], *, stream: bool) -> None:
    kind = "streamed" if stream else "whole"
    targets = _targets(ctx, stream=stream)
    for target in targets:
        _check(target, stream=stream)
    connections = ctx.options.connections
    results = compare(ctx, f"surfaces-{kind}", targets, connections=connections)
    measure = floor_targets.SURFACE_STREAMED if stream else floor_targets.SURFACE_WHOLE
    chat = results["chat"]
    ctx.record(measure, "chat", chat.rps)
    for name, aggregate in results.items():
        if name == "chat":
            continue
        ctx.record(measure, name, aggregate.rps)
        share = ratio(aggregate.rps, chat.rps)
        rows.append(
            Row(
                LABEL,
                f"{name} {kind} answers/s at c={connections} "
                f"(p50 {aggregate.p50_ms:.2f} ms), vs chat on the same gateway",
                rate(aggregate.rps, "answers/s"),
                f"chat {rate(chat.rps, 'answers/s')} (p50 {chat.p50_ms:.2f} ms)",
                times(share),
                f"≤ {floor_targets.SURFACE_COST:.0%} more time than chat",
                verdict(share > 0 and 1 / share - 1 <= floor_targets.SURFACE_COST),
            )
        )
