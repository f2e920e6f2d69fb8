"""`wrk` runs for HTTP/1.1 load: a generated Lua script, exact figures printed by its `done()`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.tools import BenchError

_MARKER = "BENCH_JSON "
_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    "MARKER", summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
""".replace("MARKER", _MARKER)


@dataclass(frozen=True, slots=True)
class LoadRequest:
    path: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def describe_errors(self) -> str:
        return ", ".join(f"{count} {kind}" for kind, count in self.errors.items() if count)


def _lua_string(value: str | bytes) -> str:
    text = value.decode() if isinstance(value, bytes) else value
    return json.dumps(text)


def write_script(path: Path, requests: list[LoadRequest], delay_ms: int = 0) -> Path:
    """A Lua script: one fixed request (wrk's fast path), or a cycle through several."""
    if len(requests) == 1:
        item = requests[0]
        lines = [
            'wrk.method = "POST"',
            f"wrk.path = {_lua_string(item.path)}",
            f"wrk.body = {_lua_string(item.body)}",
            *(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in item.headers.items()),
        ]
    else:
        lines = ["local reqs = {}", "local n = 0", "init = function(args)"]
        for item in requests:
            headers = ", ".join(
                f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in item.headers.items()
            )
            lines.append(
                f"  table.insert(reqs, wrk.format('POST', {_lua_string(item.path)}, "
                f"{{{headers}}}, {_lua_string(item.body)}))"
            )
        lines += ["end", "request = function()", "  n = n % #reqs + 1", "  return reqs[n]", "end"]
    if delay_ms:
        lines += ["delay = function()", f"  return {int(delay_ms)}", "end"]
    path.write_text("\n".join(lines) + "\n" + _DONE)
    return path


def run_wrk(
    wrk: str,
    base_url: str,
    script: Path,
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
    timeout_seconds: float = 10.0,
) -> WrkResult:
    """One bounded wrk run; wrk stops itself after `seconds`, and is killed well after that."""
    command = [
        wrk,
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout_seconds))}s",
        "-s",
        str(script),
        base_url,
    ]
    try:
        finished = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=seconds + timeout_seconds + 30,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish: {' '.join(command)}") from exc
    return parse_wrk_output(finished.stdout, finished.stderr, finished.returncode)


def parse_wrk_output(stdout: str, stderr: str = "", returncode: int = 0) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            break
    else:
        raise BenchError(f"wrk printed no result (exit {returncode}):\n{stdout}\n{stderr}")
    errors = {kind: int(data[kind]) for kind in ("connect", "read", "write", "status", "timeout")}
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
