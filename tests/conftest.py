"""Shared fixtures: every test runs in the `testing` environment with a clean QUART_LLM_* env,
reading the repository's settings.toml wherever pytest was started."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient

from quart_llm import create_app
from quart_llm.config.paths import ROOT_PATH, SETTINGS_FILE, SETTINGS_FILE_VARIABLE

TEST_KEY = "test-key"
AUTH = {"Authorization": f"Bearer {TEST_KEY}"}
REPOSITORY_SETTINGS = ROOT_PATH / SETTINGS_FILE


def _clean_environment() -> None:
    for name in list(os.environ):
        if name.startswith("QUART_LLM_") or name == "OPENROUTER_API_KEY":
            del os.environ[name]
    os.environ["QUART_LLM_ENV"] = "testing"
    os.environ[SETTINGS_FILE_VARIABLE] = str(REPOSITORY_SETTINGS)


def pytest_configure(config: pytest.Config) -> None:
    """Module- and session-scoped servers are built before function fixtures run."""
    _clean_environment()


@pytest.fixture(autouse=True)
def testing_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QUART_LLM_") or name == "OPENROUTER_API_KEY":
            monkeypatch.delenv(name)
    monkeypatch.setenv("QUART_LLM_ENV", "testing")
    monkeypatch.setenv(SETTINGS_FILE_VARIABLE, str(REPOSITORY_SETTINGS))


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings overrides for the `app` fixture; tests override this fixture to vary them."""
    return {}


@pytest.fixture
async def app(overrides: dict[str, Any]) -> AsyncIterator[Quart]:
    application = create_app(overrides)
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> QuartClient:
    test_client = app.test_client()
    assert isinstance(test_client, QuartClient)
    return test_client
