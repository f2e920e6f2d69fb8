"""The model list of `GET /v1/models`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ModelCard(BaseModel):
    id: str = Field(description="`provider/model`, usable as the `model` of a chat request.")
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models of every reachable provider."""

    object: Literal["list"]
    data: list[ModelCard]
