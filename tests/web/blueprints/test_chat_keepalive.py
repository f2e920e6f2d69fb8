"""Keep-alive comments while the upstream is silent (the mock with a slow first token)."""

from __future__ import annotations

from typing import Any

import pytest
from quart.testing import QuartClient

from tests.web.blueprints.test_chat import EXPECTED, HELLO, stream_of


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {
        "sse": {"keepalive_seconds": 0.05},
        "providers": {"mock": {"options": {"first_token_delay_seconds": 0.3}}},
    }


async def test_keepalive_comments_while_the_upstream_is_silent(client: QuartClient) -> None:
    stream = await stream_of(client, "/v1/chat/stream", {"model": "mock-1", "messages": HELLO})
    assert stream.comments[:2] == ["keep-alive", "keep-alive"]
    assert stream.text == EXPECTED
    assert stream.done
