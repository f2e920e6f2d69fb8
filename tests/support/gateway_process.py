"""Real gateway processes (`python -m quart_llm serve`), configured through the environment
exactly as an operator would, for tests that need replicas or signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx

from quart_llm.config.paths import ROOT_PATH
from tests.support.ports import free_port


def settings_environment(settings: Mapping[str, Any]) -> dict[str, str]:
    """QUART_LLM_* variables for top-level settings; tables go as `@json`."""
    env: dict[str, str] = {}
    for key, value in settings.items():
        name = f"QUART_LLM_{key.upper()}"
        if isinstance(value, dict | list):
            env[name] = "@json " + json.dumps(value)
        elif isinstance(value, str):
            env[name] = f"@str {value}"
        else:
            env[name] = json.dumps(value)
    return env


class GatewayProcess:
    def __init__(self, settings: Mapping[str, Any], env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")},
            "QUART_LLM_ENV": "testing",
            **settings_environment(settings),
            **(env or {}),
        }
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "quart_llm", "serve", "--bind", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(
            command, cwd=ROOT_PATH, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"gateway not ready:\n{self.output()}")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def signal(self, signum: signal.Signals) -> None:
        if self.process is not None:
            self.process.send_signal(signum)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL); its output can still be read."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def close(self) -> None:
        """Stop the process and drop its output."""
        self.stop()
        self._log.close()


@contextmanager
def gateway_processes(
    count: int, settings: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Iterator[list[GatewayProcess]]:
    with ExitStack() as stack:
        processes = [GatewayProcess(settings, env) for _ in range(count)]
        for process in processes:
            stack.callback(process.close)
            process.start()
        for process in processes:
            process.wait_ready()
        yield processes
