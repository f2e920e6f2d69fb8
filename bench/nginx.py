"""nginx as the upstream that cannot be the bottleneck: fixed answers from `return`.

nginx cannot branch on a request body, so each kind of answer has its own path prefix:
`/whole/v1/...` answers `chat.completion` JSON and `/stream/v1/...` a fixed SSE body, whatever
the body asks for (`.../v1/embeddings` one embedding under either); Ollama's native API likewise
under `/ollama-whole/...` (one JSON answer) and `/ollama-stream/...` (NDJSON), each an Ollama
base URL with `/`, `/api/tags` and `/api/chat`. `return` answers POST as readily as GET (it
runs before the static handler that would refuse POST with 405) and discards the request body,
keeping the connection.
"""

from __future__ import annotations

from pathlib import Path

from bench import bodies
from bench.processes import ManagedProcess, wait_until_ok
from bench.tools import free_port

WHOLE_PREFIX = "/whole/v1"
STREAM_PREFIX = "/stream/v1"
CHAT_PATH = "/chat/completions"
EMBEDDINGS_PATH = "/embeddings"
OLLAMA_WHOLE_PREFIX = "/ollama-whole"
OLLAMA_STREAM_PREFIX = "/ollama-stream"
OLLAMA_CHAT_PATH = "/api/chat"


def _quoted(text: str) -> str:
    if "$" in text or "\\" in text:
        raise ValueError("nginx return text must not contain $ or backslashes")
    return "'" + text.replace("'", "\\'").replace("\n", "\\n") + "'"


def render_config(directory: Path, port: int) -> str:
    temp = directory / "temp"
    models = _quoted(bodies.models_json())
    return f"""
worker_processes 1;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port} backlog=4096 reuseport;
        location = {WHOLE_PREFIX}{CHAT_PATH} {{
            default_type application/json;
            return 200 {_quoted(bodies.completion_json())};
        }}
        location = {STREAM_PREFIX}{CHAT_PATH} {{
            default_type text/event-stream;
            add_header Cache-Control no-cache;
            return 200 {_quoted(bodies.stream_body())};
        }}
        location ~ ^/(whole|stream)/v1{EMBEDDINGS_PATH}$ {{
            default_type application/json;
            return 200 {_quoted(bodies.embeddings_json())};
        }}
        location ~ ^/(whole|stream)/v1/models$ {{
            default_type application/json;
            return 200 {models};
        }}
        location = {OLLAMA_WHOLE_PREFIX}{OLLAMA_CHAT_PATH} {{
            default_type application/json;
            return 200 {_quoted(bodies.ollama_chat_json())};
        }}
        location = {OLLAMA_STREAM_PREFIX}{OLLAMA_CHAT_PATH} {{
            default_type application/x-ndjson;
            return 200 {_quoted(bodies.ollama_stream_body())};
        }}
        location ~ ^/ollama-(whole|stream)/api/tags$ {{
            default_type application/json;
            return 200 {_quoted(bodies.ollama_tags_json())};
        }}
        location ~ ^/ollama-(whole|stream)/$ {{
            default_type text/plain;
            return 200 'Ollama is running';
        }}
        location = /health {{
            return 200 'ok';
        }}
    }}
}}
"""


class NginxUpstream:
    """nginx on a free loopback port, config and logs in `directory`, one worker."""

    def __init__(self, nginx: str, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        (directory / "temp").mkdir(parents=True, exist_ok=True)
        self.config_path = directory / "nginx.conf"
        self.config_path.write_text(render_config(directory, self.port))
        globals_ = (
            f"daemon off; pid {directory}/nginx.pid; error_log {directory}/nginx.error.log warn;"
        )
        self.process = ManagedProcess(
            "nginx",
            [nginx, "-p", str(directory), "-c", str(self.config_path), "-g", globals_],
            directory,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> NginxUpstream:
        self.process.start()
        wait_until_ok(self.process, self.port, "/health", timeout=10)
        return self

    def stop(self) -> None:
        self.process.stop()
