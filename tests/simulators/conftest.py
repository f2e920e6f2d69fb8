"""Fixtures for the simulator tests: small delays, one simulator per test, noise checks."""

import logging
import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.log_capture import Records

from . import OllamaSimulator, OpenAICompatSimulator, SimulatorConfig, SimulatorServer
from .openai_wire import Flavor

NOISY_LOGGERS = ("asyncio", "simulators", "tests.simulators")


def _run_quietly[S: SimulatorServer](simulator: S) -> Iterator[S]:
    collector = Records(logging.WARNING)
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    for logger in loggers:
        logger.addHandler(collector)
    try:
        with simulator:
            yield simulator
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
    assert simulator.errors == []
    assert [record.getMessage() for record in collector.records] == []


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(first_token_delay=0.3, token_interval=0.01, hang_seconds=3.0)


@pytest.fixture
def ollama(config: SimulatorConfig) -> Iterator[OllamaSimulator]:
    yield from _run_quietly(OllamaSimulator(config))


@pytest.fixture(params=["openai", "openrouter"])
def compat(
    request: pytest.FixtureRequest, config: SimulatorConfig
) -> Iterator[OpenAICompatSimulator]:
    flavor: Flavor = request.param
    yield from _run_quietly(OpenAICompatSimulator(config, flavor=flavor))


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    """One TLS context for every client: building one per client costs ~20 ms."""
    return ssl.create_default_context()


@pytest.fixture
async def http(tls: ssl.SSLContext) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), verify=tls) as http:
        yield http
