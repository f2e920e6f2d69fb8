"""The error body every failure is answered with: OpenAI's shape."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None
    request_id: str | None = None


class ErrorBody(BaseModel):
    """An error, in the OpenAI shape."""

    error: ErrorDetail
