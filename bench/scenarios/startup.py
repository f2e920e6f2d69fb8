"""7. Start-up: from spawning `python -m quart_llm serve` to the first 200 from /v1/health.

Polled every 5 ms with a fresh connection; the median of the runs is reported. Each run is a
fresh process with the same environment as the gateway under test.
"""

from __future__ import annotations

import statistics

from bench.context import Context, log
from bench.report import Row, verdict

LABEL = "7 start-up"
TARGET_SECONDS = 1.5


def run(ctx: Context, rows: list[Row]) -> None:
    times = []
    for index in range(ctx.options.startup_runs):
        gateway = ctx.new_gateway(f"gateway-startup-{index + 1}")
        seconds = gateway.start()
        gateway.stop()
        log(f"start-up {index + 1}: {seconds:.3f} s")
        times.append(seconds)
    median = statistics.median(times)
    rows.append(
        Row(
            LABEL,
            f"spawn → first 200 from /v1/health, median of {len(times)}",
            f"{median:.2f} s",
            "runs: " + ", ".join(f"{value:.2f} s" for value in times),
            "",
            f"≤ {TARGET_SECONDS:g} s",
            verdict(median <= TARGET_SECONDS),
        )
    )
