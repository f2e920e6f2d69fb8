"""What an upstream said, as anyone may see it: the one place that decides.

Upstream text (error messages, media types, content encodings) reaches a client's error body,
a log line or a stream's error event only through `UpstreamText`:

- `excerpt(text)`: at most `MAX_EXCERPT` characters of it, control and format characters
  (bidi overrides among them) turned into spaces and whitespace collapsed;
- `token(text)`: a header value shown only when it is a short token of the characters HTTP
  allows there (a media type, an encoding name).

Neither shows anything that reveals a secret. The secrets are every one the settings hold
(`Settings.secrets`: the gateway's API keys, every provider's upstream key, the metrics token,
the Redis password), found whatever an upstream did to them: upper or lower case,
percent-encoding (twice over) or HTML entities, separators or spaces put in, or only a fragment
(any `FRAGMENT` characters of it in a row, such as its last 8, compared by their letters and
digits; a secret shorter than that is looked for whole). Key shapes are found too,
configured or not: `sk-...`, the gateway's own runtime keys `qlm-...` (they are in the
database, not in settings), masked keys (`****`), `Bearer <token>`. A text that reveals
one is withheld whole rather than redacted: a partly redacted excerpt must be right about
every span, withholding only has to detect.

Screening reads `SCREENED_CHARS` of a text, far more than an excerpt shows, so a secret cut
by the excerpt's end is still seen whole. Health reports show no upstream text at all.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

FRAGMENT = 8
MIN_FRAGMENT = 6
MAX_EXCERPT = 200
SCREENED_CHARS = 4096
WITHHELD = "(message withheld: it quoted a credential)"
_NOT_SHOWN = "(not shown)"
_KEY_SHAPES = re.compile(r"\b(?:[spr]k|qlm)-[\w*\-]{6,}|\*{4,}|\bbearer\s+\S{6,}", re.IGNORECASE)
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")
_HEADER_VALUE = r"[A-Za-z0-9!#$&'*+.^_`|~-]{1,40}(?:/[A-Za-z0-9!#$&'*+.^_`|~-]{1,60})?"
_HEADER_TOKENS = re.compile(rf"{_HEADER_VALUE}(?: ?, ?{_HEADER_VALUE}){{0,3}}")


class UpstreamText:
    """Screens upstream text for the configured secrets and key shapes, and makes the
    bounded, printable excerpts the gateway shows of it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        fragments: set[str] = set()
        for secret in secrets:
            fragments.update(_fragments(secret))
        fragments.discard("")
        self._fragments = frozenset(fragments)
        self._lengths = sorted({len(fragment) for fragment in fragments})

    def reveals_secret(self, text: str) -> bool:
        """Whether `text` (its first `SCREENED_CHARS`) holds a secret or something shaped
        like a key, in any of the forms the module names."""
        text = text[:SCREENED_CHARS]
        decoded = _decoded(text)
        if _KEY_SHAPES.search(text) or _KEY_SHAPES.search(decoded):
            return True
        return any(self._holds_fragment(_skeleton(form)) for form in {text, decoded})

    def excerpt(self, text: str) -> str:
        """Upstream words as the gateway may repeat them: bounded and printable, or
        `WITHHELD` when they reveal a secret."""
        if self.reveals_secret(text):
            return WITHHELD
        cleaned = " ".join(
            "".join(char if char.isprintable() else " " for char in text[:SCREENED_CHARS]).split()
        )
        if len(cleaned) > MAX_EXCERPT:
            return cleaned[:MAX_EXCERPT].rstrip() + "…"
        return cleaned

    def token(self, value: str) -> str:
        """A header value (media type, encodings) quoted, when it is a plain short token or
        a list of a few, revealing nothing; `(none)` when empty; otherwise `(not shown)`."""
        value = value.strip()
        if not value:
            return "(none)"
        if _HEADER_TOKENS.fullmatch(value) and not self.reveals_secret(value):
            return repr(value)
        return _NOT_SHOWN

    def _holds_fragment(self, skeleton: str) -> bool:
        fragments = self._fragments
        for length in self._lengths:
            for start in range(len(skeleton) - length + 1):
                if skeleton[start : start + length] in fragments:
                    return True
        return False


def _fragments(secret: str) -> set[str]:
    """What of `secret` is looked for: the letters and digits of every `FRAGMENT` characters
    in a row (when they are `MIN_FRAGMENT` or more), or the whole secret when it is short."""
    if len(secret) <= FRAGMENT:
        return {_skeleton(secret)}
    windows = (
        _skeleton(secret[start : start + FRAGMENT]) for start in range(len(secret) - FRAGMENT + 1)
    )
    fragments = {window for window in windows if len(window) >= MIN_FRAGMENT}
    return fragments or {_skeleton(secret)}


def _decoded(text: str) -> str:
    """`text` with percent-encoding and HTML entities undone, twice over."""
    for _ in range(2):
        text = html.unescape(unquote(text))
    return text


def _skeleton(text: str) -> str:
    """Letters and digits only, case folded: what survives spacing, separators and case."""
    return _NOT_LETTER_OR_DIGIT.sub("", text.casefold())
