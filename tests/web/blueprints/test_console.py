"""The console's files at /ui/: from the package, typed, with the console's own policy, and
nothing outside its folder."""

from __future__ import annotations

import re

import pytest
from quart.testing import QuartClient

from quart_llm.config.paths import CONSOLE_PATH
from quart_llm.web.security_headers import CONSOLE_CONTENT_SECURITY_POLICY, SECURITY_HEADERS


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/index.html"])
async def test_the_page_is_served_without_a_key_or_a_redirect(
    client: QuartClient, path: str
) -> None:
    answer = await client.get(path)
    assert answer.status_code == 200
    assert answer.content_type == "text/html; charset=utf-8"
    assert answer.headers["Content-Security-Policy"] == CONSOLE_CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert await answer.get_data() == (CONSOLE_PATH / "index.html").read_bytes()


async def test_every_module_is_served_as_javascript(client: QuartClient) -> None:
    modules = sorted((CONSOLE_PATH / "js").glob("*.js"))
    assert modules
    for module in modules:
        answer = await client.get(f"/ui/js/{module.name}")
        assert answer.status_code == 200, module.name
        assert answer.content_type == "text/javascript; charset=utf-8"


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere() -> None:
    directives = dict(
        part.strip().split(" ", 1) for part in CONSOLE_CONTENT_SECURITY_POLICY.split(";")
    )
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in CONSOLE_CONTENT_SECURITY_POLICY


def test_the_page_has_no_inline_script_or_style() -> None:
    page = (CONSOLE_PATH / "index.html").read_text()
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"<script(?![^>]*\ssrc=)", page), "every script is a file"
    assert not re.search(r"\son[a-z]+=", page), "no inline event handler"


def test_no_module_parses_text_as_html_or_code_or_calls_elsewhere() -> None:
    for module in (CONSOLE_PATH / "js").glob("*.js"):
        source = module.read_text()
        for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "Function("):
            assert forbidden not in source, f"{module.name} uses {forbidden}"
        urls = set(re.findall(r"https?://[^\s\"'`]+", source))
        assert urls <= {"http://www.w3.org/2000/svg"}, f"{module.name} names {urls}"


@pytest.mark.parametrize(
    "path",
    ["/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/js/../../app.py", "/ui/nothing.js", "/ui/js"],
)
async def test_nothing_else_is_served(client: QuartClient, path: str) -> None:
    answer = await client.get(path)
    assert answer.status_code == 404
    assert (await answer.get_json())["error"]["code"] == "not_found"


async def test_the_api_keeps_its_strict_policy(client: QuartClient) -> None:
    answer = await client.get("/v1/health")
    assert answer.headers["Content-Security-Policy"] == SECURITY_HEADERS["Content-Security-Policy"]
