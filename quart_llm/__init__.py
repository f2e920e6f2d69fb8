"""quart_llm: a streaming API gateway for large language models."""

from quart_llm.app import create_app

__all__ = ["create_app"]
