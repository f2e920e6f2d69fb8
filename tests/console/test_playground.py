"""The sign-in and the playground in a real browser: the answer streams in over several
frames, Stop ends the upstream request, failures are shown as what they are."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.conftest import ADMIN_KEY, API_KEY, TIGHT_KEY, ConsolePage, Gateway
from tests.integration.gateway_with_simulators import chat_requests
from tests.simulators import RecordedRequest

SAMPLE_FRAMES = """() => {
  window.sampledLengths = [];
  const sample = () => {
    const answer = document.getElementById("pg-answer");
    window.sampledLengths.push(answer ? answer.textContent.length : 0);
    if (!window.stopSampling) requestAnimationFrame(sample);
  };
  requestAnimationFrame(sample);
}"""
"""Record the answer's length at every animation frame the browser draws."""

NOTE_THE_PRESS = """() => document.addEventListener("click", (event) => {
  if (event.target.id !== "pg-stop") return;
  window.stopPressedAt = performance.timeOrigin + performance.now();
}, { capture: true })"""
"""Note the wall-clock time at which the browser dispatches the press on Stop, before the
console's own handler runs: the lag measured is the browser's, the gateway's and the
upstream's, not the test driver's."""
WALL_CLOCK_AHEAD = time.time() - time.monotonic()
"""The browser's clock is the wall clock; the simulator's is monotonic."""


def test_a_wrong_key_is_refused_and_a_right_one_signs_in(console: ConsolePage) -> None:
    page = console.page
    console.open("#signin")
    page.get_by_label("Key", exact=True).fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("refused the key as an API key (401)")
    page.get_by_label("Key", exact=True).fill(API_KEY)
    page.keyboard.press("Enter")
    expect(page.locator("#who")).to_contain_text(f"API key …{API_KEY[-4:]}")
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    stored = page.evaluate("() => Object.keys(sessionStorage)")
    assert stored == ["quart_llm.console.api_key"]
    assert page.evaluate("() => Object.keys(localStorage).length + document.cookie.length") == 0
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("() => Object.keys(sessionStorage)") == []
    expect(page.get_by_role("navigation", name="Pages")).to_be_hidden()


def test_an_answer_streams_in_over_several_frames(console: ConsolePage) -> None:
    page = console.page
    console.sign_in(API_KEY)
    page.evaluate(SAMPLE_FRAMES)
    console.ask("mock/mock-1", "hello console")
    expect(page.locator("#pg-status")).to_contain_text("Answer complete.", timeout=10_000)
    page.evaluate("() => { window.stopSampling = true; }")
    answer = "This is a mock reply from quart_llm. You said: hello console"
    expect(page.locator("#pg-answer")).to_have_text(answer)
    lengths = [length for length in page.evaluate("() => window.sampledLengths") if length]
    growing = sorted(set(lengths))
    assert len(growing) >= 4, f"the answer did not grow frame by frame: {growing}"
    assert lengths == sorted(lengths)
    stats = page.locator("#pg-stats")
    expect(stats.locator("[data-stat=provider]")).to_have_text("mock")
    expect(stats.locator("[data-stat=request-id]")).to_have_text(re.compile(r"^req_\w+$"))
    expect(stats.locator("[data-stat=completion-tokens]")).to_have_text(str(len(answer.split(" "))))
    expect(stats.locator("[data-stat=cost]")).to_have_text("unknown")
    expect(stats.locator("[data-stat=time-to-first-token]")).to_contain_text(" ms")
    expect(stats.locator("[data-stat=speed]")).to_contain_text("tokens/s")
    assert console.errors == []
    assert console.foreign_requests() == []


def test_stop_closes_the_upstream_within_100_ms(console: ConsolePage, gateway: Gateway) -> None:
    page = console.page
    simulator = gateway.simulator
    console.sign_in(API_KEY)
    simulator.clear()
    simulator.config.tokens = [f" t{index}" for index in range(400)]
    try:
        console.ask("sim/paced", "a long answer")
        expect(page.locator("#pg-answer")).to_contain_text("t3")
        recorded = _the_chat_request(gateway)
        page.evaluate(NOTE_THE_PRESS)
        page.get_by_role("button", name="Stop").click()
        closed = simulator.wait_for_client_close(recorded, 3.0)
        pressed = page.evaluate("() => window.stopPressedAt") / 1000 - WALL_CLOCK_AHEAD
    finally:
        simulator.config.tokens = list(type(simulator.config)().tokens)
    print(f"the upstream saw the close {(closed - pressed) * 1000:.1f} ms after Stop was pressed")
    assert closed - pressed < 0.1, f"the upstream saw the close {closed - pressed:.3f} s later"
    expect(page.locator("#pg-status")).to_contain_text("Stopped")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    assert "t399" not in page.locator("#pg-answer").inner_text()
    assert console.errors == []


def _the_chat_request(gateway: Gateway) -> RecordedRequest:
    deadline = time.monotonic() + 5
    while not (found := chat_requests(gateway.simulator)) and time.monotonic() < deadline:
        time.sleep(0.01)
    (recorded,) = found
    return recorded


def test_a_failure_mid_stream_is_shown_as_one(console: ConsolePage) -> None:
    page = console.page
    console.sign_in(API_KEY)
    console.ask("mock/mock-fail-midway", "fail please")
    alert = page.locator("#pg-status").get_by_role("alert")
    expect(alert).to_contain_text("The stream failed mid-answer (upstream_protocol_error)")
    expect(page.locator("#pg-answer")).to_have_text("This is a")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    assert console.errors == []


@pytest.mark.parametrize(
    ("key", "model", "shown"),
    [
        (TIGHT_KEY, "mock/mock-1", "Quota or rate limit reached (429 tokens_limit_exceeded)"),
        (API_KEY, "mock/mock-fail-early", "Unavailable (503 upstream_unavailable)"),
        (API_KEY, "sim/error-before-stream", "Upstream failed (502"),
    ],
)
def test_a_refused_request_shows_what_it_is(
    console: ConsolePage, key: str, model: str, shown: str
) -> None:
    page = console.page
    console.sign_in(key)
    console.ask(model, "refuse me")
    expect(page.locator("#pg-status").get_by_role("alert")).to_contain_text(shown)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.locator("#pg-stats [data-stat=request-id]")).to_have_text("\u2013")


def test_an_admin_key_alone_is_sent_to_the_api_key_sign_in_for_the_playground(
    console: ConsolePage,
) -> None:
    page = console.page
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name="Playground").click()
    expect(page.get_by_role("main")).to_contain_text("needs an API key")
    assert console.errors == []


def test_the_console_is_served_with_its_own_policy(gateway: Gateway) -> None:
    answer = httpx.get(f"{gateway.base_url}/ui/")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    api = httpx.get(f"{gateway.base_url}/v1/health")
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
