"""What of an upstream's words may be shown: every transformed echo of a secret is found."""

import pytest

from quart_llm.providers.upstream_text import MAX_EXCERPT, WITHHELD, UpstreamText
from tests.support.secret_echoes import echoes

KEY = "Qm7Xv2Lp9Rt4Wz8Kb3Nc6Hd1Jf5Gs0Ya"
OTHER = "qlk_live_Zt4Nw8Qe2Ry6Ui0Op3As7Df1Gh5Jk9Lx"
SCREEN = UpstreamText([KEY, OTHER, "short"])


@pytest.mark.parametrize("secret", [KEY, OTHER])
@pytest.mark.parametrize("form", list(echoes(KEY)))
def test_every_echo_of_a_secret_is_withheld(secret: str, form: str) -> None:
    echoed = echoes(secret)[form]
    message = f"Invalid credentials: {echoed} (request 42)"
    assert SCREEN.reveals_secret(message)
    assert SCREEN.excerpt(message) == WITHHELD


@pytest.mark.parametrize(
    "message",
    [
        "Incorrect API key provided: sk-proj-********************abcd.",
        "key sk-abcdef0123456789 is invalid",
        "echo: qlm-TwFxvPcVceWBKP6MDxD5Pa2nGvdGjbln0NQEeg9xXqE",
        "Authorization: Bearer abcdef0123",
        "the password was SHORT",
        "The key ****",
    ],
)
def test_key_shapes_and_short_secrets_are_withheld_whatever_the_settings(message: str) -> None:
    assert SCREEN.excerpt(message) == WITHHELD


def test_a_secret_at_the_excerpt_boundary_is_still_found() -> None:
    message = "x" * (MAX_EXCERPT - 4) + KEY
    assert SCREEN.excerpt(message) == WITHHELD


def test_ordinary_messages_are_kept_bounded_and_printable() -> None:
    assert SCREEN.excerpt("This model's maximum context length is 8192 tokens.") == (
        "This model's maximum context length is 8192 tokens."
    )
    cleaned = SCREEN.excerpt("line one\r\nline\x1b[31m two\u202e\u0000\tend")
    assert cleaned == "line one line [31m two end"
    long = SCREEN.excerpt("word " * 500)
    assert len(long) <= MAX_EXCERPT + 1
    assert long.endswith("…")


def test_header_tokens_are_shown_only_when_plain() -> None:
    assert SCREEN.token("text/html") == "'text/html'"
    assert SCREEN.token("br") == "'br'"
    assert SCREEN.token("") == "(none)"
    assert SCREEN.token(f"text/{KEY.lower()}") == "(not shown)"
    assert SCREEN.token("text/html<script>") == "(not shown)"
    assert SCREEN.token("a" * 500) == "(not shown)"
