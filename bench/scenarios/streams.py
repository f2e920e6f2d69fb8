"""3. Streamed answers (15 content chunks, finish, usage, [DONE]): events per second.

wrk counts answers; events/s = answers/s x events per answer, and the events per answer are
counted first on one real answer from each path (a path that drops or adds events is caught).
"""

from __future__ import annotations

from bench import bodies
from bench.context import Context, Target
from bench.http import request
from bench.report import Row, rate, ratio, times, verdict
from bench.scenarios.common import best_passthrough, compare, floor_row
from bench.tools import BenchError

LABEL = "3 streamed"
TARGET_RATIO = 0.8


def events_per_answer(target: Target) -> int:
    answer = request(
        target.port,
        "POST",
        target.request.path,
        body=target.request.body,
        headers=target.request.headers,
    )
    if answer.status != 200 or not answer.body.endswith(b"data: [DONE]\n\n"):
        raise BenchError(f"streams: {target.name} answered {answer.status}: {answer.body[:300]!r}")
    if not answer.headers.get("content-type", "").startswith("text/event-stream"):
        raise BenchError(f"streams: {target.name} did not answer text/event-stream")
    return bodies.count_data_events(answer.body)


def run(ctx: Context, rows: list[Row]) -> None:
    targets = ctx.targets(stream=True)
    events = {target.name: events_per_answer(target) for target in targets}
    upstream_events = events["direct"]
    for name, count in events.items():
        if count != upstream_events:
            raise BenchError(
                f"streams: {name} relayed {count} events, the upstream sent {upstream_events}"
            )
    connections = ctx.options.connections
    results = compare(ctx, "streams", targets, connections=connections)
    gateway, direct = results["gateway"], results["direct"]
    passthrough = best_passthrough(results)
    share = ratio(gateway.rps, passthrough.rps)
    bare = "; ".join(
        f"{name.removeprefix('passthrough-')} {agg.rps * events[name]:,.0f} events/s"
        for name, agg in results.items()
        if name.startswith("passthrough-")
    )
    rows.append(
        Row(
            LABEL,
            f"events/s at c={connections} ({upstream_events} events per answer, checked per path)",
            f"{rate(gateway.rps * events['gateway'], 'events/s')} "
            f"({rate(gateway.rps, 'answers/s')})",
            f"passthrough {bare}; direct {rate(direct.rps * events['direct'], 'events/s')}",
            times(share),
            f"≥ {TARGET_RATIO:g}x passthrough",
            verdict(share >= TARGET_RATIO),
        )
    )
    floor = floor_row(LABEL, f"events/s at c={connections}", results, "events/s", events["gateway"])
    if floor is not None:
        rows.append(floor)
