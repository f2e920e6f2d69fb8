"""The paced upstream and the paced-load client: small C programs compiled at run time.

Both are C because Python would measure itself: see the comments at the top of
`paced_upstream.c` and `paced_client.c`.
"""

from __future__ import annotations

import json
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.paths import BENCH_DIR
from bench.processes import ManagedProcess, wait_until_ok
from bench.tools import BenchError, free_port

SOURCES = ("paced_upstream", "paced_client")


def compile_programs(cc: str, out_dir: Path) -> dict[str, Path]:
    binaries = {}
    for name in SOURCES:
        binary = out_dir / name
        command = [cc, "-O2", "-Wall", "-o", str(binary), str(BENCH_DIR / f"{name}.c")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise BenchError(f"compiling {name}.c failed:\n{done.stderr}")
        binaries[name] = binary
    return binaries


def paced_path(deltas: int, interval_ms: int) -> str:
    """The upstream path prefix that selects the pace: `/p<deltas>x<interval_ms>/v1`."""
    return f"/p{deltas}x{interval_ms}/v1"


class PacedUpstream:
    def __init__(self, binary: Path, log_dir: Path) -> None:
        self.port = free_port()
        self.process = ManagedProcess("paced_upstream", [str(binary), str(self.port)], log_dir)

    def base_url(self, deltas: int, interval_ms: int) -> str:
        return f"http://127.0.0.1:{self.port}{paced_path(deltas, interval_ms)}"

    def start(self) -> PacedUpstream:
        self.process.start()
        wait_until_ok(self.process, self.port, "/v1/models", timeout=10)
        return self

    def stop(self) -> None:
        self.process.stop()


@dataclass(frozen=True, slots=True)
class PacedLoad:
    port: int
    path: str
    model: str
    key: str
    streams: int
    repeats: int
    deltas: int
    interval_ms: int
    ramp_ms: int

    def command(self, binary: Path, deadline_ms: int, hold_ms: int = 0) -> list[str]:
        options: dict[str, Any] = {
            "port": self.port,
            "path": self.path,
            "model": self.model,
            "key": self.key,
            "streams": self.streams,
            "repeats": self.repeats,
            "deltas": self.deltas,
            "interval-ms": self.interval_ms,
            "ramp-ms": self.ramp_ms,
            "deadline-ms": deadline_ms,
            "hold-ms": hold_ms,
        }
        command = [str(binary)]
        for name, value in options.items():
            command += [f"--{name}", str(value)]
        return command

    @property
    def expected_ms(self) -> int:
        return self.ramp_ms + self.repeats * self.deltas * self.interval_ms


@dataclass(frozen=True, slots=True)
class PacedResult:
    planned: int
    ok: int
    failed: int
    max_open: int
    deltas: int
    errors: dict[str, int]
    last_status: int
    lag_p50_ms: float
    lag_p99_ms: float
    gap_p99_ms: float
    gap_max_ms: float
    interval_ms: int

    @property
    def added_gap_p99_ms(self) -> float:
        return max(0.0, self.gap_p99_ms - self.interval_ms)

    def describe_errors(self) -> str:
        parts = [f"{count} {kind}" for kind, count in self.errors.items() if count]
        if self.errors.get("status"):
            parts.append(f"last status {self.last_status}")
        return ", ".join(parts)

    def stall_free(self, max_added_gap_ms: float, max_lag_ms: float) -> bool:
        return (
            self.failed == 0
            and self.ok == self.planned
            and self.added_gap_p99_ms <= max_added_gap_ms
            and self.lag_p50_ms <= max_lag_ms
        )


def parse_result(line: str, interval_ms: int) -> PacedResult:
    data = json.loads(line)

    def ms(key: str) -> float:
        return float(data[key]) / 1000 if data[key] >= 0 else float("nan")

    return PacedResult(
        planned=int(data["streams_planned"]),
        ok=int(data["streams_ok"]),
        failed=int(data["streams_failed"]),
        max_open=int(data["max_open"]),
        deltas=int(data["deltas"]),
        errors={k: int(v) for k, v in data["errors"].items()},
        last_status=int(data["last_status"]),
        lag_p50_ms=ms("lag_p50_us"),
        lag_p99_ms=ms("lag_p99_us"),
        gap_p99_ms=ms("gap_p99_us"),
        gap_max_ms=ms("gap_max_us"),
        interval_ms=interval_ms,
    )


def run_paced(binary: Path, load: PacedLoad, slack_ms: int = 30_000) -> PacedResult:
    """One bounded paced run; the client stops itself at its deadline."""
    deadline_ms = load.expected_ms + slack_ms
    try:
        done = subprocess.run(
            load.command(binary, deadline_ms),
            capture_output=True,
            text=True,
            timeout=deadline_ms / 1000 + 30,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError("the paced client did not stop by its deadline") from exc
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"the paced client failed (exit {done.returncode}): {done.stderr}")
    return parse_result(lines[-1], load.interval_ms)


class HeldStreams:
    """Streams opened and held (memory mode): `open()` returns once each has its first delta."""

    def __init__(self, binary: Path, load: PacedLoad, hold_ms: int) -> None:
        self._command = load.command(binary, load.ramp_ms + hold_ms + 60_000, hold_ms=hold_ms)
        self._interval_ms = load.interval_ms
        self._hold_s = hold_ms / 1000
        self._process: subprocess.Popen[str] | None = None

    def open(self, timeout: float) -> str:
        self._process = subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        stdout = self._process.stdout
        if stdout is None:
            raise BenchError("no pipe to the paced client")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = stdout.readline()
            if not line:
                break
            if line.startswith("READY "):
                return line[len("READY ") :].strip()
        self.close()
        raise BenchError(f"held streams were not all open within {timeout:g} s")

    def close(self) -> PacedResult | None:
        process = self._process
        if process is None:
            return None
        self._process = None
        try:
            output, _ = process.communicate("", timeout=self._hold_s + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
            raise BenchError("the paced client did not close its streams") from None
        lines = [line for line in output.splitlines() if line.startswith("{")]
        return parse_result(lines[-1], self._interval_ms) if lines else None
