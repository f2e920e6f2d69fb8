"""Child processes the benchmark starts: logs to files, bounded waits, stopped by their pid."""

from __future__ import annotations

import resource
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from bench.http import status_or_none
from bench.tools import BenchError


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ManagedProcess:
    """A subprocess with stdout/stderr in files; `stop()` sends SIGTERM, then SIGKILL."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} is not running")
        return self.process.pid

    def rss_kib(self) -> int:
        """Resident memory now (`VmRSS` in /proc/<pid>/status), in KiB."""
        self.check_alive()
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise BenchError("no VmRSS in /proc status")

    def start(self) -> ManagedProcess:
        with self.stdout_path.open("ab") as stdout, self.stderr_path.open("ab") as stderr:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.command,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                env=self._env,
                cwd=self._cwd,
                preexec_fn=_raise_nofile,
            )
        return self

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise BenchError(f"{self.name} exited early; its output:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                text.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(text)

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def __enter__(self) -> ManagedProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def wait_until_ok(process: ManagedProcess, port: int, path: str, timeout: float = 20.0) -> float:
    """Poll `path` until it answers 200; return the seconds since the process was started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_alive()
        if status_or_none(port, path) == 200:
            return time.perf_counter() - process.started_at
        time.sleep(0.005)
    raise BenchError(
        f"{process.name} did not answer 200 at {path} within {timeout:g} s:\n{process.tail()}"
    )
