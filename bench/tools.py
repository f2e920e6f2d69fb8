"""External tools the benchmark needs, and the one line that says how to install them."""

from __future__ import annotations

import resource
import shutil
import socket
from dataclasses import dataclass

APT_PACKAGES = ("wrk", "nghttp2-client", "nginx-light", "gcc", "libc6-dev")
INSTALL_HINT = "apt-get install -y " + " ".join(APT_PACKAGES)


class BenchError(RuntimeError):
    """A scenario could not run or saw errors; the run fails loudly."""


@dataclass(frozen=True, slots=True)
class Tools:
    wrk: str
    h2load: str
    nginx: str
    cc: str


def find_tools() -> Tools:
    """The tools' paths, or a BenchError naming the missing ones and how to install them."""
    names = {"wrk": "wrk", "h2load": "h2load", "nginx": "nginx", "cc": "cc"}
    found = {
        key: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        for key, name in names.items()
    }
    missing = sorted(name for key, name in names.items() if found[key] is None)
    if missing:
        raise BenchError(f"missing tools: {', '.join(missing)}; install them with: {INSTALL_HINT}")
    return Tools(**{key: str(path) for key, path in found.items()})


def missing_tools() -> list[str]:
    try:
        find_tools()
    except BenchError as exc:
        return [str(exc)]
    return []


def raise_nofile_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
