"""The forms an upstream was seen to send a key back in (and a few more), for leak tests."""

from __future__ import annotations

from urllib.parse import quote


def echoes(secret: str) -> dict[str, str]:
    """Each transformed form of `secret`, by name."""
    every_char = "".join(f"%{byte:02X}" for byte in secret.encode())
    return {
        "as is": secret,
        "upper-cased": secret.upper(),
        "lower-cased": secret.lower(),
        "percent-encoded": every_char,
        "percent-encoded twice": quote(every_char, safe=""),
        "html entities": "".join(f"&#{ord(char)};" for char in secret),
        "spaced": " ".join(secret),
        "dashed every 4": "-".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "one a line": "\n".join(secret),
        "last 8": secret[-8:],
        "first 8": secret[:8],
        "middle 10": secret[10:20],
    }


def findable_forms(secret: str) -> dict[str, str]:
    """The forms a leak check can look for in output (those of 8 characters or more, as
    shown: a line-per-character form cannot survive the gateway's whitespace folding, so
    its spaced equivalent stands for it)."""
    return {name: form for name, form in echoes(secret).items() if name != "one a line"}
