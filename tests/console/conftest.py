"""The console's browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright for
Python, against a real gateway process (`python -m quart_llm serve`) in front of the mock and
an OpenAI-compatible simulator that records when its client hangs up.

Every page opened here records what the browser logged as an error and every request it
made; a test reads them through `ConsolePage` (no error, nothing sent to another origin).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from quart_llm.services.keys import key_id_for_key
from tests.integration.gateway_with_simulators import NO_RESILIENCE, TIMEOUTS, UPSTREAM_KEY
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.gateway_process import GatewayProcess

CHROMIUM = "/usr/bin/chromium"
API_KEY = "console-test-key"
TIGHT_KEY = "console-test-tight-key"
"""An API key whose daily token budget no answer fits: every chat is refused with a 429."""
ADMIN_KEY = "console-test-admin-key"
MOCK_TOKENS_PER_SECOND = 20.0
"""The mock's pace: its ~12-token answer streams over about half a second, many frames."""


def console_settings(simulator: OpenAICompatSimulator) -> dict[str, Any]:
    return {
        "api_keys": [API_KEY, TIGHT_KEY],
        "limits": {
            "tiers": {"tight": {"tokens": [{"count": 10, "period_seconds": 86_400}]}},
            "keys": {key_id_for_key(TIGHT_KEY): "tight"},
        },
        "admin_keys": [ADMIN_KEY],
        "default_provider": "mock",
        # Probed again every second: one slow first probe on a loaded machine is not the
        # state the Status page shows for the whole module.
        "health": {"cache_seconds": 1, "probe_timeout_seconds": 5},
        "providers": {
            "mock": {
                "kind": "mock",
                "options": {"tokens_per_second": MOCK_TOKENS_PER_SECOND},
                "retry": {"attempts": 0},
                "circuit": {"failure_threshold": 1_000_000},
            },
            "sim": {
                "kind": "openai",
                "base_url": f"{simulator.base_url}/v1",
                "api_key": UPSTREAM_KEY,
                "timeouts": TIMEOUTS,
                **NO_RESILIENCE,
            },
        },
    }


@dataclass
class Gateway:
    process: GatewayProcess
    simulator: OpenAICompatSimulator

    @property
    def base_url(self) -> str:
        return self.process.base_url


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    config = SimulatorConfig(first_token_delay=0.05, token_interval=0.02, api_key=UPSTREAM_KEY)
    config.known_models = [*config.known_models, "paced", "error-before-stream"]
    with OpenAICompatSimulator(config, flavor="openai") as simulator:
        process = GatewayProcess(console_settings(simulator))
        process.start()
        try:
            process.wait_ready()
            yield Gateway(process, simulator)
        finally:
            process.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield chromium
    chromium.close()


@dataclass
class ConsolePage:
    """A tab on the console, with what it logged and requested."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, hash_: str = "") -> None:
        self.page.goto(f"{self.base_url}/ui/{hash_}")

    def sign_in(self, key: str, kind: str = "api") -> None:
        """Sign in (or add a key) through the form, as a person would."""
        self.page.goto(f"{self.base_url}/ui/#signin")
        self.page.get_by_label("an admin key" if kind == "admin" else "an API key").check()
        self.page.get_by_label("Key", exact=True).fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        badge = "Admin key" if kind == "admin" else "API key"
        self.page.locator("#who").get_by_text(badge).wait_for()

    def ask(self, model: str, message: str) -> None:
        """Send one message from the playground (already shown)."""
        self.page.get_by_label("Model").select_option(model)
        self.page.get_by_label("Message").fill(message)
        self.page.get_by_role("button", name="Send").click()

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(f"{self.base_url}/")]


@pytest.fixture
def console(browser: Browser, gateway: Gateway) -> Iterator[ConsolePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    opened = ConsolePage(page, gateway.base_url)

    def logged(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.errors.append(message.text)

    page.on("console", logged)
    page.on("pageerror", lambda error: opened.errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: opened.requests.append(request.url))
    yield opened
    context.close()
