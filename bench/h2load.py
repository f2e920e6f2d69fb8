"""`h2load` runs for HTTP/2 (h2c, prior knowledge): all streams on the given connections."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.tools import BenchError

_REQUESTS = re.compile(
    r"requests: (?P<total>\d+) total, (?P<started>\d+) started, (?P<done>\d+) done, "
    r"(?P<succeeded>\d+) succeeded, (?P<failed>\d+) failed, (?P<errored>\d+) errored, "
    r"(?P<timeout>\d+) timeout"
)
_STATUS = re.compile(
    r"status codes: (?P<s2>\d+) 2xx, (?P<s3>\d+) 3xx, (?P<s4>\d+) 4xx, (?P<s5>\d+) 5xx"
)
_FINISHED = re.compile(r"finished in (?P<seconds>[\d.]+)(?P<unit>[mu]?s), (?P<rps>[\d.]+) req/s")
_PROTOCOL = re.compile(r"Application protocol: (?P<protocol>\S+)")


@dataclass(frozen=True, slots=True)
class H2Result:
    total: int
    succeeded: int
    failed: int
    errored: int
    timeout: int
    status_2xx: int
    seconds: float
    rps: float
    protocol: str

    @property
    def all_ok(self) -> bool:
        return self.succeeded == self.total == self.status_2xx and self.protocol == "h2c"


def run_h2load(
    h2load: str,
    url: str,
    body_file: Path,
    headers: Mapping[str, str],
    *,
    requests: int,
    streams: int,
    connections: int = 1,
    timeout_seconds: float = 60.0,
) -> H2Result:
    command = [h2load, f"-n{requests}", f"-c{connections}", f"-m{streams}", "-d", str(body_file)]
    for name, value in headers.items():
        command += ["-H", f"{name.lower()}: {value}"]
    command.append(url)
    try:
        finished = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"h2load did not finish in {timeout_seconds:g} s") from exc
    return parse_h2load_output(finished.stdout + finished.stderr)


def parse_h2load_output(output: str) -> H2Result:
    requests = _REQUESTS.search(output)
    status = _STATUS.search(output)
    finished = _FINISHED.search(output)
    protocol = _PROTOCOL.search(output)
    if requests is None or status is None or finished is None:
        raise BenchError(f"unexpected h2load output:\n{output}")
    seconds = float(finished["seconds"]) / {"s": 1, "ms": 1e3, "us": 1e6}[finished["unit"]]
    return H2Result(
        total=int(requests["total"]),
        succeeded=int(requests["succeeded"]),
        failed=int(requests["failed"]),
        errored=int(requests["errored"]),
        timeout=int(requests["timeout"]),
        status_2xx=int(status["s2"]),
        seconds=seconds,
        rps=float(finished["rps"]),
        protocol=protocol["protocol"] if protocol else "none",
    )
