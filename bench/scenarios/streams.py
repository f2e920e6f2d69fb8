"""3. Streamed answers (15 content chunks, finish, usage, [DONE]): events per second, from
nginx's OpenAI-style SSE and from its Ollama-style NDJSON.

wrk counts answers; events/s = answers/s x events per answer, and the events per answer are
counted first on one real answer from each path. OpenAI-style: every path must relay the
upstream's 18 events (a path that drops or adds events is caught). Ollama-style: the direct,
passthrough and floor paths relay its 16 NDJSON lines as they are, while the gateway answers in
OpenAI's SSE (content chunks, finish, usage, [DONE]), checked to carry every word; there the
ratio is of answers per second, the same work for every path.
"""

from __future__ import annotations

import orjson

from bench import bodies, floor_targets
from bench.context import FLAVORS, FLOOR, OLLAMA, Context, Target
from bench.http import Answer, request
from bench.report import Row, rate, ratio, times, verdict
from bench.scenarios.common import best_passthrough, compare, flavor_note, floor_row
from bench.tools import BenchError

LABEL = "3 streamed"
TARGET_RATIO = 0.8


def _answer(target: Target) -> Answer:
    answer = request(
        target.port,
        "POST",
        target.request.path,
        body=target.request.body,
        headers=target.request.headers,
    )
    if answer.status != 200:
        raise BenchError(f"streams: {target.name} answered {answer.status}: {answer.body[:300]!r}")
    return answer


def _sse_events(target: Target, answer: Answer) -> int:
    if not answer.body.endswith(b"data: [DONE]\n\n"):
        raise BenchError(f"streams: {target.name} did not end with [DONE]: {answer.body[-300:]!r}")
    if not answer.headers.get("content-type", "").startswith("text/event-stream"):
        raise BenchError(f"streams: {target.name} did not answer text/event-stream")
    return bodies.count_data_events(answer.body)


def _sse_text(answer: Answer) -> str:
    text = []
    for line in answer.body.split(b"\n"):
        if line.startswith(b"data: {"):
            for choice in orjson.loads(line[6:]).get("choices", []):
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


def events_per_answer(target: Target, flavor: str) -> int:
    """Events in one real answer of `target`, after checking it is complete."""
    answer = _answer(target)
    if flavor != OLLAMA:
        return _sse_events(target, answer)
    if target.name == "gateway":
        events = _sse_events(target, answer)
        if _sse_text(answer) != " ".join(bodies.WORDS):
            raise BenchError(f"streams: the gateway's Ollama answer lost words: {answer.body!r}")
        return events
    if answer.body != bodies.ollama_stream_body().encode():
        raise BenchError(f"streams: {target.name} changed the NDJSON: {answer.body[:300]!r}")
    return bodies.count_ndjson_lines(answer.body)


def run(ctx: Context, rows: list[Row]) -> None:
    for flavor in FLAVORS:
        _run(ctx, rows, flavor)


def _run(ctx: Context, rows: list[Row], flavor: str) -> None:
    targets = ctx.targets(stream=True, flavor=flavor)
    events = {target.name: events_per_answer(target, flavor) for target in targets}
    upstream_events = events["direct"]
    for name, count in events.items():
        if flavor != OLLAMA and count != upstream_events:
            raise BenchError(
                f"streams: {name} relayed {count} events, the upstream sent {upstream_events}"
            )
    connections = ctx.options.connections
    results = compare(ctx, f"streams-{flavor}", targets, connections=connections)
    gateway = results["gateway"]
    passthrough = best_passthrough(results)
    share = ratio(gateway.rps, passthrough.rps)
    unit, factor = ("answers/s", 1.0) if flavor == OLLAMA else ("events/s", events["gateway"])

    def per_second(name: str) -> str:
        return rate(results[name].rps * (1.0 if flavor == OLLAMA else events[name]), unit)

    bare = "; ".join(
        f"{name.removeprefix('passthrough-')} {per_second(name)}"
        for name in results
        if name.startswith("passthrough-")
    )
    if flavor == OLLAMA:
        measure = (
            f"answers/s at c={connections}{flavor_note(flavor)} ({upstream_events} NDJSON lines "
            f"per answer relayed; the gateway's {events['gateway']} SSE events checked)"
        )
    else:
        measure = (
            f"events/s at c={connections} ({upstream_events} events per answer, checked per path)"
        )
    rows.append(
        Row(
            LABEL,
            measure,
            f"{rate(gateway.rps * events['gateway'], 'events/s')} "
            f"({rate(gateway.rps, 'answers/s')})",
            f"passthrough {bare}; direct {per_second('direct')}",
            times(share),
            f"≥ {TARGET_RATIO:g}x passthrough",
            verdict(share >= TARGET_RATIO),
        )
    )
    if flavor != OLLAMA:
        for name, who in (("gateway", "gateway"), (FLOOR, "floor")):
            if name in results:
                ctx.record(floor_targets.STREAMED, who, results[name].rps * events[name])
    floor = floor_row(
        LABEL, f"{unit} at c={connections}{flavor_note(flavor)}", results, unit, factor
    )
    if floor is not None:
        rows.append(floor)
