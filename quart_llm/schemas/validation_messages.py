"""Pydantic's validation errors as one readable line and the `param` they concern.

Used for every refusal of invalid input (the web layer's schema errors, and the translations of
the Messages and Responses APIs into chat requests), so each says the same thing the same way,
and never echoes the client's input back.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

_SCALAR_LABELS = frozenset({"str", "int", "float", "bool", "bytes", "list", "dict", "none"})


def describe_validation_error(error: ValidationError) -> tuple[str, str | None]:
    """A readable message and the `param` path of the first problem, without echoing input."""
    problems = error.errors(include_url=False, include_input=False, include_context=False)
    parts: list[str] = []
    for problem in problems[:5]:
        location = _location(problem["loc"])
        parts.append(f"{location}: {problem['msg']}" if location else str(problem["msg"]))
    if len(problems) > 5:
        parts.append(f"and {len(problems) - 5} more")
    param = _location(problems[0]["loc"]) if problems else None
    return "Invalid request: " + "; ".join(parts), param or None


def _location(loc: tuple[Any, ...]) -> str:
    """The field path of a pydantic location, without the labels it adds for union members."""
    text = ""
    skip_tag = False
    for part in loc:
        if isinstance(part, str) and _is_union_label(part):
            skip_tag = skip_tag or "tagged-union[" in part
            continue
        if skip_tag and isinstance(part, str):
            skip_tag = False
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _is_union_label(part: str) -> bool:
    return part in _SCALAR_LABELS or part[:1].isupper() or any(c in part for c in "[',")
