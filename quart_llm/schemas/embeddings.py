"""The embeddings request and answer (OpenAI's `POST /v1/embeddings`).

`input` is a string, an array of strings, an array of tokens or an array of token arrays, as
OpenAI takes it: never empty, at most `MAX_EMBEDDING_INPUTS` inputs (OpenAI's limit; the
gateway splits them further to each upstream's batch size). Unknown fields are refused (400).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_EMBEDDING_INPUTS = 2048
MAX_INPUT_CHARS = 1_000_000
MAX_DIMENSIONS = 16_384

Token = Annotated[int, Field(ge=0, le=2**31 - 1)]
InputText = Annotated[str, Field(min_length=1, max_length=MAX_INPUT_CHARS)]
Tokens = Annotated[list[Token], Field(min_length=1, max_length=MAX_INPUT_CHARS)]
EmbeddingInput = (
    InputText
    | Annotated[list[InputText], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
    | Tokens
    | Annotated[list[Tokens], Field(min_length=1, max_length=MAX_EMBEDDING_INPUTS)]
)


class EmbeddingsRequest(BaseModel):
    """An embeddings request in the OpenAI shape.

    `model` may name its provider (`ollama/nomic-embed-text`); `provider` names it explicitly.
    """

    model_config = ConfigDict(extra="forbid")
    model: str = Field(min_length=1, max_length=512)
    input: EmbeddingInput
    provider: str | None = Field(default=None, min_length=1, max_length=64)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: Annotated[int, Field(ge=1, le=MAX_DIMENSIONS)] | None = None
    user: str | None = Field(default=None, max_length=256)

    @field_validator("input", mode="before")
    @classmethod
    def _one_shape(cls, value: Any) -> Any:
        """One plain sentence for an input of none of the four shapes (pydantic would list
        each shape's complaint)."""
        if value == "" or value == []:
            raise ValueError("input must not be empty")
        if isinstance(value, str):
            return value
        if isinstance(value, list) and len(value) > MAX_EMBEDDING_INPUTS:
            raise ValueError(f"input has more than {MAX_EMBEDDING_INPUTS} items")
        if isinstance(value, list) and (
            all(isinstance(item, str) for item in value)
            or all(_is_token(item) for item in value)
            or all(isinstance(item, list) and all(map(_is_token, item)) for item in value)
        ):
            return value
        raise ValueError(
            "input must be a string, an array of strings, an array of tokens (integers) or "
            "an array of token arrays"
        )

    @property
    def inputs(self) -> list[str] | list[list[int]]:
        """The inputs as a list: of texts, or of token arrays."""
        value = self.input
        if isinstance(value, str):
            return [value]
        if value and isinstance(value[0], int):
            return [value]
        return cast("list[str] | list[list[int]]", value)


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Embedding(BaseModel):
    """One input's vector: floats, or with `encoding_format: "base64"` their little-endian
    float32 bytes in base64."""

    object: Literal["embedding"]
    index: int
    embedding: list[float] | str


class EmbeddingsUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int
    estimated: bool | None = None


class EmbeddingsResponse(BaseModel):
    """The vectors in the order of the inputs."""

    object: Literal["list"]
    data: list[Embedding]
    model: str
    provider: str
    usage: EmbeddingsUsage
