"""HTTP/2 rapid reset (CVE-2023-44487), measured: a probe's latency on its own connection while
another process opens and cancels streams, without a key, as fast as it can.

    .venv/bin/python -m bench.rapid_reset [--seconds 8] [--root DIR]

Starts `python -m quart_llm serve` (hypercorn.toml, uvloop, production settings) from `--root`
(default: this checkout), times `GET /v1/health` on one HTTP/1.1 keep-alive connection every
20 ms for `--seconds` alone, then for `--seconds` during the flood (HEADERS + DATA + RST_STREAM
in a loop, a new connection after each GOAWAY), and prints both summaries, the flood's streams,
connections and GOAWAY codes, and how many of its requests reached the app (access-log lines,
on stdout or stderr). Not part of `./dev bench`: a diagnostic, run by hand.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.queues import Queue
from pathlib import Path

from bench.paths import ROOT
from bench.processes import ManagedProcess, wait_until_ok
from bench.tools import free_port

API_KEY = "rapid-reset-bench-key"
CHAT_PATH = "/v1/chat/completions"
BODY = b'{"model": "mock-1", "messages": [{"role": "user", "content": "hi"}]}'
PROBE_EVERY = 0.02
MAX_FLOOD_STREAMS = 5_000_000


def flood(port: int, seconds: float, results: Queue[dict[str, object]]) -> None:
    """Open and cancel streams for `seconds` (at most MAX_FLOOD_STREAMS), reconnecting after
    each GOAWAY; puts the totals in `results`."""
    import h2.events
    import h2.exceptions

    from tests.support.raw_h2 import RawH2Client

    deadline = time.monotonic() + seconds
    streams, goaways = 0, Counter[str]()
    headers = [("content-type", "application/json")]
    while time.monotonic() < deadline and streams < MAX_FLOOD_STREAMS:
        client, code = RawH2Client(port), "none"
        try:
            while time.monotonic() < deadline and code == "none":
                stream_id = client.request("POST", CHAT_PATH, headers, BODY, send=False)
                client.reset(stream_id)
                streams += 1
                for event in client.read_events(0):
                    if isinstance(event, h2.events.ConnectionTerminated):
                        code = str(event.error_code)
        except (OSError, h2.exceptions.ProtocolError):
            code = "closed"
        finally:
            client.close()
        goaways[code] += 1
    results.put({"streams": streams, "connections": sum(goaways.values()), "ends": goaways})


def probe(port: int, seconds: float) -> tuple[list[float], Counter[int]]:
    """`GET /v1/health` every PROBE_EVERY seconds on one connection: latencies (ms), statuses."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    statuses = Counter[int]()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        connection.request("GET", "/v1/health")
        response = connection.getresponse()
        response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status] += 1
        time.sleep(PROBE_EVERY)
    connection.close()
    return latencies, statuses


def summary(latencies: list[float]) -> str:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return (
        f"n={len(latencies)} median={statistics.median(latencies):.1f} ms "
        f"p95={cuts[94]:.1f} ms p99={cuts[98]:.1f} ms max={max(latencies):.1f} ms"
    )


def start_gateway(root: Path, port: int, log_dir: Path) -> ManagedProcess:
    providers = {
        "mock": {"kind": "mock"},
        "ollama": {"kind": "ollama", "base_url": "http://127.0.0.1:9", "enabled": False},
    }
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")},
        "QUART_LLM_ENV": "production",
        "QUART_LLM_API_KEYS": "@json " + json.dumps([API_KEY]),
        "QUART_LLM_PROVIDERS": "@json " + json.dumps(providers),
        "QUART_LLM_METRICS": "@json " + json.dumps({"token": "rapid-reset-bench-metrics"}),
    }
    command = [sys.executable, "-m", "quart_llm", "serve", "--bind", f"127.0.0.1:{port}"]
    gateway = ManagedProcess("gateway", command, log_dir, env=env, cwd=root).start()
    try:
        wait_until_ok(gateway, port, "/v1/health", timeout=30)
    except BaseException:
        gateway.stop()
        raise
    return gateway


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    options = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="rapid-reset-") as logs:
        gateway = start_gateway(options.root.resolve(), port, Path(logs))
        try:
            alone, _ = probe(port, options.seconds)
            processes = multiprocessing.get_context("fork")
            results: Queue[dict[str, object]] = processes.Queue()
            flooder = processes.Process(target=flood, args=(port, options.seconds, results))
            flooder.start()
            during, statuses = probe(port, options.seconds)
            totals = results.get(timeout=options.seconds + 30)
            flooder.join(10)
        finally:
            gateway.stop()
        outputs = [gateway.stdout_path, gateway.stderr_path]
        access_lines = sum(
            p.read_text(errors="replace").count(f"POST {CHAT_PATH}") for p in outputs
        )
    print(f"probe alone:       {summary(alone)}")
    print(f"probe during flood: {summary(during)} statuses={dict(statuses)}")
    print(f"flood: {totals}; requests that reached the app: {access_lines}")


if __name__ == "__main__":
    main()
