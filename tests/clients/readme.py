"""The README's client examples, cut out by section and language, pointed at a test server."""

from __future__ import annotations

import re

from quart_llm.config.paths import ROOT_PATH

README = ROOT_PATH / "README.md"
README_URL = "http://127.0.0.1:8000"
README_KEY = "dev-key-change-me"


def section(heading: str, text: str | None = None) -> str:
    """The text under `heading` (e.g. `### curl`) up to the next heading of its level or above
    (a `# comment` line inside a fenced code block is no heading)."""
    source = README.read_text() if text is None else text
    level = len(heading) - len(heading.lstrip("#"))
    start = source.index(f"\n{heading}\n") + len(heading) + 2
    following = re.compile(rf"^#{{1,{level}}} ")
    offset, fenced = start, False
    for line in source[start:].splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and following.match(line):
            return source[start:offset]
        offset += len(line)
    return source[start:]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{re.escape(language)}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def client_example(subsection: str, language: str, index: int = 0) -> str:
    return code_blocks(section(subsection, section("## Clients")), language)[index]


def pointed_at(code: str, base_url: str, key: str) -> str:
    return code.replace(README_URL, base_url).replace(README_KEY, key)


def shell_commands(block: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]
