"""Fixtures of the client tests: Node.js with the pinned packages, and a live gateway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.node import install_node_packages, node_binaries
from tests.support.live_server import LiveServer, running_gateway
from tests.support.redis_server import redis_url

__all__ = ["node", "redis_url", "server"]


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` binary, with clients/node/node_modules installed from the lock."""
    node_binary, npm = node_binaries()
    install_node_packages(npm)
    return node_binary


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with running_gateway() as live:
        yield live
