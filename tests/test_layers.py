"""The layers of ARCHITECTURE.md, held by their imports: what each layer must never import.

Every module of the package is parsed (nothing is imported) and each of its imports, lazy
ones inside functions included, is checked against the rules of its layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from quart_llm.config.paths import ROOT_PATH

PACKAGE = ROOT_PATH / "quart_llm"
QUART = ("quart", "quart_schema", "quart_rate_limiter", "werkzeug", "hypercorn")
UPSTREAM_CLIENTS = ("httpx", "aiohttp")
NEVER: dict[str, tuple[str, ...]] = {
    "config": ("quart_llm.", *QUART),
    "lib": ("quart_llm.", *QUART),
    "schemas": ("quart_llm.", *QUART),
    "providers": (
        *QUART,
        "quart_llm.web",
        "quart_llm.services",
        "quart_llm.routing",
        "quart_llm.streaming",
        "quart_llm.quotas",
        "quart_llm.server",
    ),
    "routing": (
        *QUART,
        *UPSTREAM_CLIENTS,
        "quart_llm.web",
        "quart_llm.services",
        "quart_llm.streaming",
        "quart_llm.quotas",
        "quart_llm.server",
    ),
    "streaming": (
        *QUART,
        *UPSTREAM_CLIENTS,
        "quart_llm.web",
        "quart_llm.services",
        "quart_llm.quotas",
        "quart_llm.server",
    ),
    "quotas": (
        *QUART,
        *UPSTREAM_CLIENTS,
        "quart_llm.web",
        "quart_llm.services",
        "quart_llm.providers",
        "quart_llm.routing",
        "quart_llm.streaming",
        "quart_llm.server",
    ),
    "observability": (*QUART[:-1], "quart_llm.web", "quart_llm.services", "quart_llm.server"),
    "store": (*QUART, *UPSTREAM_CLIENTS, "quart_llm.web", "quart_llm.services", "quart_llm.server"),
    "services": (*QUART, *UPSTREAM_CLIENTS, "quart_llm.web", "quart_llm.server"),
    "commands": (*QUART, *UPSTREAM_CLIENTS, "quart_llm.web", "quart_llm.server"),
    "web": (
        *UPSTREAM_CLIENTS,
        "quart_llm.providers.transport",
        "quart_llm.quotas.stores",
        "quart_llm.server",
    ),
}
"""Layer → module prefixes it must never import. `quart_llm.` alone means: nothing of the
gateway outside the layer itself."""


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        yield ".".join(("quart_llm", *parts)).removesuffix(".__init__"), path


def imported(path: Path, module: str) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def breaks(name: str, rule: str, layer: str) -> bool:
    if rule == "quart_llm.":
        return name.startswith(rule) and not name.startswith(f"quart_llm.{layer}")
    return name == rule or name.startswith(rule + ".")


@pytest.mark.parametrize("layer", sorted(NEVER))
def test_no_layer_imports_what_it_must_never(layer: str) -> None:
    found = [
        f"{module} imports {name}"
        for module, path in modules()
        if module.startswith(f"quart_llm.{layer}.") or module == f"quart_llm.{layer}"
        for name in imported(path, module)
        for rule in NEVER[layer]
        if breaks(name, rule, layer)
    ]
    assert found == []


def test_the_root_holds_only_the_face() -> None:
    root = {path.name for path in PACKAGE.glob("*.py")}
    assert root == {"__init__.py", "__main__.py", "app.py", "cli.py", "errors.py"}


def test_every_layer_named_in_the_rules_exists() -> None:
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert set(NEVER) <= packages
