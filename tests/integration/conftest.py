"""Fixtures of the end-to-end tests: a gateway in front of the simulators for each module that
asks for one (a module may define its own `upstreams`), and the official openai client over
HTTP/1.1 and HTTP/2."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from tests.conftest import TEST_KEY
from tests.integration.gateway_with_simulators import Upstreams, upstreams_and_gateway


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    with upstreams_and_gateway() as running:
        yield running


@pytest.fixture(params=["http1", "http2"])
async def openai_sdk(
    request: pytest.FixtureRequest, upstreams: Upstreams
) -> AsyncIterator[openai.AsyncOpenAI]:
    http2 = request.param == "http2"
    async with openai.AsyncOpenAI(
        base_url=f"{upstreams.gateway.base_url}/v1",
        api_key=TEST_KEY,
        http_client=openai.DefaultAsyncHttpxClient(http1=not http2, http2=http2, timeout=30),
        max_retries=0,
    ) as client:
        yield client
