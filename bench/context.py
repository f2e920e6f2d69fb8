"""What the scenarios share: tools, the work directory, upstreams and the processes under test.

Everything is started on first use and stopped by `close()`, so `--only` starts only what
its scenario needs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench import bodies
from bench.clients import CLIENTS, EXTRA_MODULES
from bench.gateway import Gateway, Upstreams, auth_headers
from bench.nginx import (
    CHAT_PATH,
    OLLAMA_CHAT_PATH,
    OLLAMA_STREAM_PREFIX,
    OLLAMA_WHOLE_PREFIX,
    STREAM_PREFIX,
    WHOLE_PREFIX,
    NginxUpstream,
)
from bench.options import Options
from bench.paced import PacedUpstream, compile_programs, paced_path
from bench.paths import ROOT
from bench.processes import ManagedProcess, wait_until_ok
from bench.runtime import importable, production_python
from bench.tools import Tools, free_port
from bench.wrk import LoadRequest

FLOOR = "stack-floor"
"""The target name of bench/floor.py: the passthrough plus the brief's required libraries."""
OLLAMA = "ollama"
FLAVORS = ("openai", OLLAMA)
"""The upstream flavours nginx answers in: OpenAI-style, and Ollama's native API."""
OLLAMA_PROVIDERS = {False: "ollama-whole", True: "ollama-stream"}
"""The gateway's Ollama providers in front of nginx, by `stream`."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Target:
    """Something the load tools hit: a name, a port and the request to send."""

    name: str
    port: int
    request: LoadRequest

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Context:
    options: Options
    tools: Tools
    work_dir: Path
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    """Measured figures by name (`bench/floor_targets.py` names them), for the targets section."""
    _nginx: NginxUpstream | None = None
    _paced: PacedUpstream | None = None
    _binaries: dict[str, Path] | None = None
    _python: Path | None = None
    _gateway: Gateway | None = None
    _gateway_ready: bool = False
    _gateways: list[Gateway] = field(default_factory=list)
    _passthroughs: dict[str, int] | None = None
    _paced_passthrough: tuple[str, int] | None = None
    _floors: dict[str, int] = field(default_factory=dict)
    _paced_floor: int | None = None
    _processes: list[ManagedProcess] = field(default_factory=list)
    _stoppers: list[Callable[[], object]] = field(default_factory=list)

    def record(self, measure: str, who: str, value: float) -> None:
        """Keep a figure a target is judged on: `measure` one of `bench/floor_targets.py`'s,
        `who` "gateway", "floor" or a route."""
        self.figures[f"{measure}.{who}"] = value

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def nginx(self) -> NginxUpstream:
        if self._nginx is None:
            directory = self.work_dir / "nginx"
            directory.mkdir(exist_ok=True)
            log("starting nginx")
            self._nginx = NginxUpstream(self.tools.nginx, directory)
            self._stoppers.append(self._nginx.stop)
            self._nginx.start()
        return self._nginx

    def binaries(self) -> dict[str, Path]:
        if self._binaries is None:
            log("compiling the paced upstream and client")
            self._binaries = compile_programs(self.tools.cc, self.work_dir)
        return self._binaries

    def python(self) -> Path:
        """The production interpreter the gateway and the passthroughs run on."""
        if self._python is None:
            log("syncing the production environment (.venv-prod: uv sync --frozen --no-dev)")
            self._python = production_python()
        return self._python

    def paced(self) -> PacedUpstream:
        if self._paced is None:
            self._paced = PacedUpstream(self.binaries()["paced_upstream"], self.work_dir)
            self._stoppers.append(self._paced.stop)
            self._paced.start()
        return self._paced

    def upstreams(self, *, idle: bool = False) -> Upstreams:
        nginx = self.nginx().base_url
        paced = self.paced()
        urls = {
            "whole": nginx + WHOLE_PREFIX,
            "sse": nginx + STREAM_PREFIX,
            OLLAMA_PROVIDERS[False]: nginx + OLLAMA_WHOLE_PREFIX,
            OLLAMA_PROVIDERS[True]: nginx + OLLAMA_STREAM_PREFIX,
            "paced": paced.base_url(self.options.paced_deltas, self.options.paced_interval_ms),
        }
        if idle:
            urls["idle"] = paced.base_url(2, 600_000)
        return Upstreams(urls, ollama=frozenset(OLLAMA_PROVIDERS.values()))

    def new_gateway(
        self, name: str, *, idle: bool = False, extra_env: Mapping[str, str] | None = None
    ) -> Gateway:
        """A fresh gateway process, not yet started (`extra_env` beside the settings every
        gateway gets); stopped with the context."""
        gateway = Gateway(
            self.upstreams(idle=idle),
            self.work_dir,
            name,
            python=self.python(),
            extra_env=extra_env,
        )
        self._gateways.append(gateway)
        self._stoppers.append(gateway.stop)
        return gateway

    def gateway(self) -> Gateway:
        """The gateway under test, started once and ready (healthy)."""
        gateway = self._gateway or self._spawn_gateway()
        if not self._gateway_ready:
            gateway.wait_ready()
            self._gateway_ready = True
        return gateway

    def _spawn_gateway(self) -> Gateway:
        log("starting the gateway under test")
        self._gateway = self.new_gateway("gateway")
        self._gateway.spawn()
        return self._gateway

    def available_clients(self) -> list[str]:
        """httpx always; aiohttp (direct, or under httpx) when importable by the gateway's
        interpreter (a dependency, or a directory on PYTHONPATH)."""
        clients = []
        for client in CLIENTS:
            module = EXTRA_MODULES.get(client)
            if module is not None and not importable(self.python(), module):
                self.note(
                    f"`{module}` is not installed, so the {client} passthrough was not "
                    f"measured (add the `{module.replace('_', '-')}` package to measure it)."
                )
                continue
            clients.append(client)
        return clients

    def passthroughs(self) -> dict[str, int]:
        """Client name → port of a running bare passthrough using it (upstream: nginx)."""
        if self._passthroughs is None:
            self._passthroughs = {}
            upstream = self.nginx().base_url
            started: list[tuple[ManagedProcess, int]] = []
            for client in self.available_clients():
                process, port = self.start_passthrough(
                    client, upstream, f"passthrough-{client}", wait=False
                )
                started.append((process, port))
                self._passthroughs[client] = port
            for process, port in started:
                wait_until_ok(process, port, "/health")
        return self._passthroughs

    def paced_passthrough(self) -> tuple[str, int]:
        """(client, port) of a bare passthrough in front of the paced upstream, with the
        fastest client available (the last of CLIENTS that is importable)."""
        if self._paced_passthrough is None:
            client = self.available_clients()[-1]
            _, port = self.start_passthrough(
                client, self.paced_base_url(), f"paced-passthrough-{client}"
            )
            self._paced_passthrough = (client, port)
        return self._paced_passthrough

    def floor(self, flavor: str = "openai") -> int | None:
        """Port of the stack floor (bench/floor.py) in front of nginx's answers of `flavor`,
        once it is healthy; None when aiohttp, which it forwards with, is not installed."""
        if flavor not in self._floors and self.floor_available():
            paths = {}
            if flavor == OLLAMA:
                paths = {
                    "whole_path": OLLAMA_WHOLE_PREFIX + OLLAMA_CHAT_PATH,
                    "stream_path": OLLAMA_STREAM_PREFIX + OLLAMA_CHAT_PATH,
                }
            _, self._floors[flavor] = self.start_floor(
                self.nginx().base_url, f"floor-{flavor}", **paths
            )
        return self._floors.get(flavor)

    def paced_floor(self) -> int | None:
        """Port of a stack floor relaying the paced upstream's streams (the paced ladder's
        pace), once healthy; None when aiohttp is not installed."""
        if self._paced_floor is None and self.floor_available():
            pace = paced_path(self.options.paced_deltas, self.options.paced_interval_ms)
            _, self._paced_floor = self.start_floor(
                self.paced_base_url(), "paced-floor", stream_path=pace + CHAT_PATH
            )
        return self._paced_floor

    def paced_base_url(self) -> str:
        """The paced upstream's root; its paths choose the pace (see `paced_path`)."""
        return f"http://127.0.0.1:{self.paced().port}"

    def floor_available(self) -> bool:
        """The stack floor forwards with aiohttp; without it, it is not measured."""
        return "aiohttp" in self.available_clients()

    def start_passthrough(
        self, client: str, upstream: str, name: str, *, wait: bool = True
    ) -> tuple[ManagedProcess, int]:
        """A fresh bare passthrough (bench/passthrough.py) forwarding with `client`; healthy
        unless `wait` is false. Stopped with the context."""
        arguments = ["--upstream", upstream, "--client", client]
        return self._spawn_baseline("bench.passthrough", arguments, name, wait=wait)

    def start_floor(
        self,
        upstream: str,
        name: str,
        *,
        whole_path: str | None = None,
        stream_path: str | None = None,
    ) -> tuple[ManagedProcess, int]:
        """A fresh stack floor (bench/floor.py), healthy; the paths default to nginx's
        OpenAI-style answers. Stopped with the context."""
        arguments = ["--upstream", upstream]
        if whole_path is not None:
            arguments += ["--whole-path", whole_path]
        if stream_path is not None:
            arguments += ["--stream-path", stream_path]
        return self._spawn_baseline("bench.floor", arguments, name, wait=True)

    def start_otlp_sink(self) -> int:
        """Port of a fresh OTLP/HTTP traces sink (bench/otlp_sink.py), healthy; stopped with the
        context."""
        _, port = self._spawn_baseline("bench.otlp_sink", [], "otlp-sink", wait=True)
        return port

    def _spawn_baseline(
        self, module: str, arguments: list[str], name: str, *, wait: bool
    ) -> tuple[ManagedProcess, int]:
        port = free_port()
        process = ManagedProcess(
            name,
            [str(self.python()), "-m", module, "--bind", f"127.0.0.1:{port}", *arguments],
            self.work_dir,
            cwd=ROOT,
        )
        log(f"starting the baseline {name}")
        self._stoppers.append(process.stop)
        process.start()
        if wait:
            wait_until_ok(process, port, "/health")
        return process, port

    def targets(self, *, stream: bool, flavor: str = "openai") -> list[Target]:
        """direct (nginx), passthrough-<client>…, the stack floor (when aiohttp is installed),
        gateway: the same answer every way, from nginx's OpenAI-style or Ollama-style answers.
        The gateway always answers in OpenAI's shape."""
        if self._gateway is None and self._passthroughs is None:
            self._spawn_gateway()  # starts while the passthroughs start
        if flavor == OLLAMA:
            prefix = OLLAMA_STREAM_PREFIX if stream else OLLAMA_WHOLE_PREFIX
            upstream_path = prefix + OLLAMA_CHAT_PATH
            body = bodies.ollama_chat_request(bodies.MODEL, stream=stream)
            provider = OLLAMA_PROVIDERS[stream]
        else:
            upstream_path = (STREAM_PREFIX if stream else WHOLE_PREFIX) + CHAT_PATH
            body = bodies.chat_request(bodies.MODEL, stream=stream)
            provider = "sse" if stream else "whole"
        upstream_request = LoadRequest(upstream_path, body, {"Content-Type": "application/json"})
        targets = [Target("direct", self.nginx().port, upstream_request)]
        for client, port in self.passthroughs().items():
            targets.append(Target(f"passthrough-{client}", port, upstream_request))
        gateway_body = bodies.chat_request(f"{provider}/{bodies.MODEL}", stream=stream)
        gateway_request = LoadRequest("/v1/chat/completions", gateway_body, auth_headers())
        floor = self.floor(flavor)
        if floor is not None:
            # The floor relays without translating, so it takes the upstream's own request.
            floor_request = LoadRequest("/v1/chat/completions", body, auth_headers())
            targets.append(Target(FLOOR, floor, floor_request))
        targets.append(Target("gateway", self.gateway().port, gateway_request))
        return targets

    def all_gateways(self) -> list[Gateway]:
        return list(self._gateways)

    def close(self) -> None:
        for stop in reversed(self._stoppers):
            try:
                stop()
            except Exception as exc:
                log(f"stopping failed: {exc}")
        self._stoppers.clear()
