"""What the translations of other APIs into chat requests share (the Messages API in
`anthropic_messages`, the Responses API in `responses_api`).

A translation builds the chat request's fields and validates them once, as a chat request
from a client would be: whatever the other API's schema let through that a chat request
cannot carry is a 400 in that API's error shape, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from pydantic import ValidationError

from quart_llm.errors import InvalidRequest
from quart_llm.schemas.chat_request import ChatRequest
from quart_llm.schemas.validation_messages import describe_validation_error


class HasText(Protocol):
    """A block or part with text."""

    @property
    def text(self) -> str:
        """Its text."""
        ...


def as_chat_request(fields: dict[str, Any]) -> ChatRequest:
    """The chat request these fields make (fields None are left out); 400 when they make
    none."""
    try:
        return ChatRequest.model_validate(
            {name: value for name, value in fields.items() if value is not None}
        )
    except ValidationError as error:
        message, param = describe_validation_error(error)
        raise InvalidRequest(
            message.replace("Invalid request:", "Invalid request (as a chat request):", 1),
            param=param,
        ) from None


def image_part(url: str, detail: str | None = None) -> dict[str, Any]:
    """A chat content part showing the image at `url` (https or a data URL)."""
    image: dict[str, Any] = {"url": url}
    if detail is not None:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def text_of(content: str | Iterable[HasText] | None) -> str:
    """Text, or the text of blocks joined (None: empty)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(block.text for block in content)
