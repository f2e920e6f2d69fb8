"""The gateway under test, run as users run it: `python -m quart_llm serve` with hypercorn.toml
from a production install (`runtime.production_python`), configured only through QUART_LLM_*
variables, production environment, keys, quotas, metrics and info-level JSON logs on (stderr to
a file), one JSON access line per request among them."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import bodies
from bench.http import request
from bench.paths import ROOT
from bench.processes import ManagedProcess, wait_until_ok
from bench.tools import BenchError, free_port

HEALTH_PATH = "/v1/health"
HUGE_LIMIT = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Upstreams:
    """Provider name → base URL: OpenAI-compatible (ending in /v1), or Ollama's native API for
    the names in `ollama`."""

    base_urls: Mapping[str, str]
    ollama: frozenset[str] = frozenset()


def gateway_environment(upstreams: Upstreams) -> dict[str, str]:
    """The variables an operator would set: providers, keys, and quotas on with limits no run
    can reach. Everything else is the shipped default (no connection limit of the providers'
    own, the default `max_inflight`), so the figures are what users get."""
    providers: dict[str, Any] = {
        name: {"kind": "ollama" if name in upstreams.ollama else "openai", "base_url": url}
        for name, url in upstreams.base_urls.items()
    }
    limits = {
        "default": {
            "requests": [{"count": HUGE_LIMIT, "period_seconds": 60}],
            "concurrent_streams": HUGE_LIMIT,
        }
    }
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("QUART_LLM_")}
    return {
        **inherited,
        "QUART_LLM_ENV": "production",
        "QUART_LLM_API_KEYS": "@json " + json.dumps([bodies.API_KEY]),
        "QUART_LLM_DEFAULT_PROVIDER": next(iter(upstreams.base_urls)),
        "QUART_LLM_PROVIDERS": "@json " + json.dumps(providers),
        "QUART_LLM_LIMITS": "@json " + json.dumps(limits),
        "QUART_LLM_METRICS": "@json " + json.dumps({"token": bodies.METRICS_TOKEN}),
        "QUART_LLM_LOGGING": "@json " + json.dumps({"level": "INFO", "format": "json"}),
    }


def auth_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {bodies.API_KEY}", "Content-Type": "application/json"}


class Gateway:
    def __init__(
        self,
        upstreams: Upstreams,
        log_dir: Path,
        name: str = "gateway",
        *,
        python: Path,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.process = ManagedProcess(
            name,
            [str(python), "-m", "quart_llm", "serve", "--bind", f"127.0.0.1:{self.port}"],
            log_dir,
            env={**gateway_environment(upstreams), **(extra_env or {})},
            cwd=ROOT,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait for the first healthy answer; return the seconds that took."""
        self.spawn()
        return self.wait_ready(timeout)

    def spawn(self) -> None:
        self.process.start()

    def wait_ready(self, timeout: float = 30.0) -> float:
        return wait_until_ok(self.process, self.port, HEALTH_PATH, timeout=timeout)

    def stop(self) -> int | None:
        return self.process.stop()

    def rss_kib(self) -> int:
        return self.process.rss_kib()

    def scrape_metrics(self) -> str:
        answer = request(
            self.port,
            "GET",
            "/metrics",
            headers={"Authorization": f"Bearer {bodies.METRICS_TOKEN}"},
        )
        if answer.status != 200:
            raise BenchError(f"/metrics answered {answer.status}")
        return answer.body.decode()

    def log_lines(self) -> tuple[int, int]:
        """(JSON log lines on stderr, of which access lines): proof logging was on."""
        json_lines = access_lines = 0
        if self.process.stderr_path.exists():
            with self.process.stderr_path.open("rb") as stderr:
                for line in stderr:
                    if line.startswith(b"{"):
                        json_lines += 1
                        access_lines += b'"scope":"quart_llm.access"' in line
        return json_lines, access_lines
