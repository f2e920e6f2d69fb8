"""The README's screenshots of the console, made by the browser the tests use:
`./dev screenshots` (or `python -m tests.console.screenshots [DIRECTORY]`).

A gateway process in front of the mock and an OpenAI-compatible simulator (as in the browser
tests) is given some traffic and, when the admin API is there, a few keys; then each page is
signed in to and captured at 1280x800, and the playground once more at a phone's width. The
files are written to docs/console/ unless a directory is named.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

from quart_llm.config.paths import ROOT_PATH
from tests.console.conftest import (
    ADMIN_KEY,
    API_KEY,
    CHROMIUM,
    ConsolePage,
    console_settings,
)
from tests.integration.gateway_with_simulators import UPSTREAM_KEY
from tests.simulators import OpenAICompatSimulator, SimulatorConfig
from tests.support.gateway_process import GatewayProcess

DEFAULT_DIRECTORY = ROOT_PATH / "docs" / "console"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
TRAFFIC = [("mock/mock-1", 4), ("sim/gpt-4o-mini", 3), ("mock/mock-fail-early", 1)]
KEYS = [
    {"name": "web-frontend", "owner": "team-web", "budgets": {"tokens_per_day": 200000}},
    {"name": "batch-jobs", "owner": "team-data", "allowed_models": ["mock/*"]},
]


def seed(base_url: str) -> None:
    """Some answered and refused requests, and keys when the keys API exists."""
    api = {"Authorization": f"Bearer {API_KEY}"}
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for model, count in TRAFFIC:
            for index in range(count):
                body = {"model": model, "messages": [{"role": "user", "content": f"hi {index}"}]}
                client.post("/v1/chat/completions", json=body, headers=api)
        for key in KEYS:
            client.post("/admin/v1/keys", json=key, headers=admin)


def capture(page: Page, base_url: str, directory: Path) -> list[Path]:
    console = ConsolePage(page, base_url)
    shots: list[Path] = []

    def shot(name: str, ready: Callable[[], None]) -> None:
        ready()
        page.wait_for_timeout(300)  # let the last frame settle before the capture
        path = directory / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        shots.append(path)

    console.open("#signin")
    shot("sign-in", lambda: expect(page.get_by_label("Key", exact=True)).to_be_focused())
    console.sign_in(API_KEY)
    console.sign_in(ADMIN_KEY, kind="admin")
    page.goto(f"{base_url}/ui/#playground")
    page.get_by_label("System prompt").fill("You are a concise assistant.")
    page.get_by_label("Message").fill("What does the gateway do?")
    page.get_by_role("button", name="Send").click()
    shot("playground", lambda: expect(page.locator("#pg-status")).to_contain_text("complete"))
    page.goto(f"{base_url}/ui/#usage")
    shot("usage", lambda: expect(page.locator("#usage-result")).not_to_contain_text("Loading"))
    page.goto(f"{base_url}/ui/#keys")
    shot("keys", lambda: expect(page.locator("main")).not_to_contain_text("Loading"))
    page.goto(f"{base_url}/ui/#status")
    shot("status", lambda: expect(page.locator("#status-load")).to_be_visible())
    page.set_viewport_size(PHONE)
    page.goto(f"{base_url}/ui/#playground")
    shot("playground-phone", lambda: expect(page.get_by_label("Message")).to_be_visible())
    return shots


def main(arguments: list[str]) -> int:
    directory = Path(arguments[0]) if arguments else DEFAULT_DIRECTORY
    directory.mkdir(parents=True, exist_ok=True)
    config = SimulatorConfig(first_token_delay=0.05, token_interval=0.02, api_key=UPSTREAM_KEY)
    with OpenAICompatSimulator(config, flavor="openai") as simulator:
        gateway = GatewayProcess(console_settings(simulator))
        gateway.start()
        try:
            gateway.wait_ready()
            seed(gateway.base_url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_context(viewport=DESKTOP).new_page()
                shots = capture(page, gateway.base_url, directory)
                browser.close()
        finally:
            gateway.close()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
