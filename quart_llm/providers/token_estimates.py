"""Token estimates for when an upstream reports no usage.

About four characters per token for English text, rounded up; always marked as an estimate.
"""

from __future__ import annotations

from collections.abc import Iterable

from quart_llm.schemas.chat_request import ChatMessage

_CHARS_PER_TOKEN = 4
_PER_MESSAGE_OVERHEAD = 4


def estimate_text_tokens(text: str) -> int:
    """The tokens `text` is likely to be."""
    return estimate_tokens_for_chars(len(text))


def estimate_tokens_for_chars(chars: int) -> int:
    """The tokens `chars` characters of text are likely to be."""
    return -(-chars // _CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Iterable[ChatMessage]) -> int:
    """The prompt tokens of a conversation: its text plus a few tokens of framing a message."""
    return sum(estimate_text_tokens(message.text()) + _PER_MESSAGE_OVERHEAD for message in messages)


def estimate_input_tokens(inputs: Iterable[str | list[int]]) -> int:
    """The tokens of embedding inputs: estimated for texts, counted for token arrays."""
    return sum(
        estimate_text_tokens(value) if isinstance(value, str) else len(value) for value in inputs
    )
