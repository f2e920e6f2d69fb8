"""The Status, Keys and Usage pages in a real browser, through the admin API."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.console.conftest import (
    ADMIN_KEY,
    API_KEY,
    ConsolePage,
    Gateway,
)

CHAT = {"model": "mock/mock-1", "messages": [{"role": "user", "content": "count me"}]}


def test_status_shows_providers_breakers_and_load(console: ConsolePage) -> None:
    page = console.page
    console.sign_in(API_KEY)
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name="Status").click()
    providers = page.locator("#status-providers")
    for name in ("mock", "sim"):
        row = providers.locator(f"tr[data-provider={name}]")
        expect(row).to_contain_text("reachable", timeout=15_000)
        expect(row).to_contain_text("closed")
    expect(page.locator("#status-overall")).to_have_text("ok")
    load = page.locator("#status-load")
    expect(load).to_contain_text("Requests in flight")
    expect(load).to_contain_text("memory, reachable")
    page.get_by_role("button", name="Refresh").press("Enter")
    expect(page.get_by_role("status").filter(has_text="Updated")).to_be_visible()
    assert console.errors == []
    assert console.foreign_requests() == []


def test_status_without_an_admin_key_shows_health_only(console: ConsolePage) -> None:
    page = console.page
    console.sign_in(API_KEY)
    page.get_by_role("link", name="Status").click()
    expect(page.locator("#status-providers")).to_contain_text("mock")
    expect(page.locator("#status-gateway")).to_contain_text("shown to admins")
    assert console.errors == []


def test_a_key_created_in_the_page_works_until_revoked_there(
    console: ConsolePage, gateway: Gateway
) -> None:
    page = console.page
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name="Keys").click()
    name = f"teammate-{time.monotonic_ns()}"
    page.get_by_label("Name", exact=True).first.fill(name)
    page.get_by_label("Tokens per day").first.fill("100000")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#key-secret").inner_text()
    assert secret
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    models = httpx.get(f"{gateway.base_url}/v1/models", headers=_bearer(secret))
    assert models.status_code == 200
    page.get_by_role("form", name="Key filters").get_by_label("Name").fill(name)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#keys-table tr[data-key-id]")).to_have_count(1)
    row = page.locator("#keys-table tr", has_text=name).first
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("tokens per day: 100000")
    assert secret not in page.locator("#keys-table").inner_text()
    row.get_by_role("button", name=f"Edit {name}").click()
    change = page.get_by_role("form", name=f"Change {name}")
    change.get_by_label("Tokens per day").fill("5000")
    change.get_by_label("Allowed models").fill("mock/*")
    change.get_by_role("button", name="Save").click()
    row = page.locator("#keys-table tr", has_text=name).first
    expect(row).to_contain_text("tokens per day: 5000")
    expect(row).to_contain_text("mock/*")
    refused_model = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={**CHAT, "model": "sim/gpt-4o-mini"},
        headers=_bearer(secret),
    )
    assert refused_model.status_code == 403
    row.get_by_role("button", name=f"Revoke {name}").click()
    row.get_by_role("button", name=f"Revoke {name}").click()
    expect(page.locator("#keys-table tr", has_text=name).first).to_contain_text("revoked")
    refused = httpx.get(f"{gateway.base_url}/v1/models", headers=_bearer(secret))
    assert refused.status_code == 401
    assert console.errors == []
    assert console.foreign_requests() == []


def test_the_usage_chart_shows_the_requests_just_made(
    console: ConsolePage, gateway: Gateway, tmp_path: Path
) -> None:
    page = console.page
    today = datetime.now(UTC).date().isoformat()
    for _ in range(3):
        answer = httpx.post(f"{gateway.base_url}/v1/chat/completions", json=CHAT, headers=_bearer())
        assert answer.status_code == 200
    expected = _requests_today(gateway, today, at_least=3)
    console.sign_in(API_KEY)
    page.get_by_role("link", name="Usage").click()
    bar = page.locator(f"#chart-requests rect[data-label='{today}'][data-series=requests]")
    expect(bar).to_have_attribute("data-value", str(expected))
    expect(page.locator("#usage-table tbody tr", has_text=today)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = tmp_path / "usage.csv"
    download.value.save_as(saved)
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("group,requests,prompt_tokens,completion_tokens,total_tokens")
    assert any(line.startswith(f"{today},{expected},") for line in lines[1:])
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name="Usage").click()
    page.get_by_label("Usage of").select_option("all")
    page.get_by_label("Group by").select_option("provider")
    page.get_by_role("button", name="Show").click()
    by_provider = page.locator("#chart-requests rect[data-label=mock][data-series=requests]")
    expect(by_provider).to_have_count(1)
    assert console.errors == []
    assert console.foreign_requests() == []


def _bearer(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _requests_today(gateway: Gateway, today: str, at_least: int) -> int:
    """Today's requests of the test key once its usage report counts at least `at_least`
    (records may be written just after the answers)."""
    deadline = time.monotonic() + 5
    while True:
        report = httpx.get(
            f"{gateway.base_url}/v1/usage", params={"group_by": "day"}, headers=_bearer()
        ).json()["report"]
        count = sum(int(row["requests"]) for row in report["rows"] if row["group"] == today)
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def test_with_an_admin_key_too_the_playground_looks_up_the_answers_record(
    console: ConsolePage,
) -> None:
    page = console.page
    console.sign_in(API_KEY)
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name="Playground").click()
    console.ask("mock/mock-1", "what did this cost?")
    cost = page.locator("#pg-stats [data-stat=cost]")
    expect(cost).to_have_text("unknown", timeout=10_000)  # the mock has no price
    assert any("/admin/v1/requests" in url for url in console.requests)
    assert console.errors == []
