"""The console for keyboards, screen readers and eyes: every control labelled, every page
reachable with the keyboard alone, text contrast of at least 4.5:1 (WCAG AA)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.conftest import ADMIN_KEY, API_KEY, ConsolePage

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((control) => !control.closest("[hidden]"))
  .filter((control) => !(control.labels && control.labels.length)
    && !control.getAttribute("aria-label") && !control.textContent.trim())
  .map((control) => control.outerHTML)"""
"""Controls a screen reader would announce with no name."""

LOW_CONTRAST = """() => {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length < 4 || colour[3] > 0) return colour;
    }
    return [255, 255, 255];
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !element.checkVisibility()) continue;
    if (element.closest("button:disabled, svg, .visually-hidden")) continue;
    const a = luminance(rgb(getComputedStyle(element).color));
    const b = luminance(background(element));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) failures.push(`${element.tagName}.${element.className}: ${ratio.toFixed(2)}`);
  }
  return failures;
}"""
"""Visible text whose colour is below 4.5:1 against the background it is drawn on."""


@pytest.mark.parametrize("page_name", ["playground", "usage", "keys", "status"])
def test_every_control_is_labelled_and_every_text_readable(
    console: ConsolePage, page_name: str
) -> None:
    page = console.page
    console.sign_in(API_KEY)
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name=page_name.capitalize()).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(page_name.capitalize())
    page.wait_for_load_state("networkidle")
    assert page.evaluate(UNLABELLED) == []
    assert page.evaluate(LOW_CONTRAST) == []


def test_the_sign_in_page_is_labelled_and_readable(console: ConsolePage) -> None:
    console.open("#signin")
    assert console.page.evaluate(UNLABELLED) == []
    assert console.page.evaluate(LOW_CONTRAST) == []


def test_the_keyboard_alone_signs_in_and_moves_between_pages(console: ConsolePage) -> None:
    page = console.page
    console.open()
    expect(page.get_by_label("Key", exact=True)).to_be_focused()
    page.keyboard.type(API_KEY)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Playground")).to_be_visible()
    usage = page.get_by_role("link", name="Usage")
    expect(page.get_by_role("main")).to_be_focused()
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        if usage.evaluate("(link) => link === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage")
    expect(page.get_by_role("link", name="Usage")).to_have_attribute("aria-current", "page")


@pytest.mark.parametrize("page_name", ["playground", "usage", "keys", "status"])
def test_every_page_fits_a_phone(console: ConsolePage, page_name: str) -> None:
    page = console.page
    page.set_viewport_size({"width": 390, "height": 844})
    console.sign_in(API_KEY)
    console.sign_in(ADMIN_KEY, kind="admin")
    page.get_by_role("link", name=page_name.capitalize()).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(page_name.capitalize())
    page.wait_for_load_state("networkidle")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the {page_name} page is {overflow} px wider than a phone"
