"""Run the selected scenarios, print the table, write the Markdown, exit non-zero on errors."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.context import Context, log
from bench.floor_targets import TargetResult, evaluate, render_targets
from bench.options import Options, parse_options
from bench.paths import ROOT
from bench.report import (
    ERROR,
    INFO,
    PASS,
    Row,
    render_document,
    render_table,
    rows_as_json,
    write_results,
)
from bench.scenarios import SCENARIO_RUNNERS
from bench.tools import BenchError, Tools, find_tools, raise_nofile_limit

TARGETS_HEADING = "Targets against the stack floor (issue 20)"


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "?"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def gateway_fingerprint() -> str:
    """A hash of the gateway's sources and settings files, to notice edits during a run."""
    digest = hashlib.sha256()
    package = ROOT / "quart_llm"
    paths = sorted([*package.rglob("*.py"), *package.rglob("*.toml"), ROOT / "settings.toml"])
    for path in paths:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _source_state() -> str:
    """The commit and a hash of the gateway's files, taken when the run starts."""
    commit = _version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return f"commit {commit}, gateway sources {gateway_fingerprint()}"


def _preamble(options: Options, tools: Tools, nofile: int, source: str) -> list[str]:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    kind = (
        "SMOKE run (figures are not meaningful; only errors fail)" if options.smoke else "full run"
    )
    return [
        f"{kind}; {source} at the start; {os.cpu_count()} CPUs ({_cpu_model()}), "
        f"load average at start {load}; Python {platform.python_version()}; "
        f"{_version([tools.nginx, '-v'])}; "
        f"{_version([tools.wrk, '-v'])}; {_version([tools.h2load, '--version'])}; "
        f"open-file limit {nofile}.",
        "",
        "Gateway: `python -m quart_llm serve` (hypercorn.toml: one worker, uvloop; one JSON access "
        "line per request) "
        "from a production install like the container's (`.venv-prod`: uv.lock without the dev "
        "group, bytecode compiled; the passthroughs run on it too), "
        "configured only by QUART_LLM_* variables: production, API keys, quotas (limits out of "
        "reach), metrics behind a token, JSON logs at INFO. Upstream: nginx `return` (one worker) "
        "and the C paced upstream; load: wrk (HTTP/1.1, one thread), h2load (h2c), the C paced "
        "client. Baselines run in the same session, interleaved round by round: ratios are the "
        "figures that hold on a noisy machine. The targets are set against the bare passthrough "
        "(minimal Quart, fastest client); the stack floor (bench/floor.py: the passthrough plus "
        "key check, quart-schema, quart-rate-limiter, Prometheus and a JSON log line) shows "
        "what the required libraries alone leave of them.",
        "",
        f"Load runs: {options.duration} s x {options.rounds} rounds after {options.warmup} s "
        f"warm-up; c={options.connections}; paced ladder "
        f"{', '.join(map(str, options.paced_ladder))} x {options.paced_repeats}; "
        f"{options.idle_streams} idle streams; soak {options.soak_seconds} s.",
    ]


def _sanity_rows(ctx: Context) -> list[Row]:
    gateways = ctx.all_gateways()
    if not gateways:
        return []
    json_lines = access_lines = 0
    for gateway in gateways:
        gateway.stop()
        lines = gateway.log_lines()
        json_lines += lines[0]
        access_lines += lines[1]
    ok = json_lines > 0 and access_lines > 0
    return [
        Row(
            "sanity",
            f"log lines of {len(gateways)} gateway process(es): JSON (stderr) / of them access",
            f"{json_lines:,} / {access_lines:,}",
            "",
            "",
            "logging on",
            PASS if ok else ERROR,
        )
    ]


def _metrics_row(ctx: Context) -> list[Row]:
    gateway = ctx._gateway
    if gateway is None:
        return []
    text = gateway.scrape_metrics()
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("quart_llm_requests_total{")
    )
    return [
        Row(
            "sanity",
            "requests counted by /metrics on the main gateway",
            f"{counted:,.0f}",
            result=INFO,
        )
    ]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run produced: the scenarios' rows, the targets judged on its figures, notes."""

    rows: list[Row]
    targets: list[TargetResult]
    figures: dict[str, float]
    notes: list[str]
    failed: bool


def run(options: Options, tools: Tools, work_dir: Path) -> Outcome:
    ctx = Context(options, tools, work_dir)
    rows: list[Row] = []
    failed = False
    try:
        for name in options.only:
            label, scenario = SCENARIO_RUNNERS[name]
            log(f"scenario {label}")
            try:
                scenario(ctx, rows)
            except Exception as exc:
                failed = True
                detail = str(exc) if isinstance(exc, BenchError) else traceback.format_exc()
                log(f"ERROR in {label}: {detail}")
                rows.append(
                    Row(label, "could not run", str(exc).splitlines()[0][:300], result=ERROR)
                )
        try:
            rows += _metrics_row(ctx)
        except BenchError as exc:
            failed = True
            rows.append(Row("sanity", "metrics scrape", str(exc), result=ERROR))
    finally:
        ctx.close()
    rows += _sanity_rows(ctx)
    failed = failed or any(row.result == ERROR for row in rows)
    return Outcome(rows, evaluate(ctx.figures), dict(ctx.figures), ctx.notes, failed)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    try:
        tools = find_tools()
    except BenchError as exc:
        print(f"BENCH FAILED: {exc}", file=sys.stderr)
        return 2
    nofile = raise_nofile_limit()
    started = datetime.now(UTC)
    work_dir = Path(tempfile.mkdtemp(prefix="quart_llm_bench_"))
    log(f"work directory (configs, logs): {work_dir}")
    fingerprint = gateway_fingerprint()
    source = _source_state()
    outcome = run(options, tools, work_dir)
    notes = outcome.notes
    if gateway_fingerprint() != fingerprint:
        notes.append(
            "The gateway's sources (quart_llm/, settings.toml or hypercorn.toml) changed during "
            "this run: processes started at different times ran different code."
        )
    title = f"quart_llm benchmark, {started.strftime('%Y-%m-%d %H:%M UTC')}"
    preamble = _preamble(options, tools, nofile, source)
    targets_table = render_targets(outcome.targets)
    document = render_document(
        title, preamble, outcome.rows, notes, [(TARGETS_HEADING, targets_table)]
    )
    results = {
        "title": title,
        "preamble": [line for line in preamble if line],
        "rows": rows_as_json(outcome.rows),
        "targets": [target.as_json() for target in outcome.targets],
        "figures": outcome.figures,
        "notes": notes,
        "failed": outcome.failed,
    }
    path = write_results(options.results_dir, document, started, results)
    print(render_table(outcome.rows))
    print(f"\n{TARGETS_HEADING}\n{targets_table}\n")
    for note in notes:
        print(f"note: {note}")
    print(f"written to {path}")
    if outcome.failed:
        print(f"BENCH FAILED: see the ERROR rows; logs are kept in {work_dir}", file=sys.stderr)
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0
