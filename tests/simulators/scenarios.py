"""Scenario names, how a request selects one, and the simulators' mutable configuration."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SCENARIO_HEADER = "x-simulator-scenario"
MIB = 1024 * 1024


class Scenario(StrEnum):
    NORMAL = "normal"
    SLOW_FIRST_TOKEN = "slow-first-token"
    PACED = "paced"
    ERROR_BEFORE_STREAM = "error-before-stream"
    ERROR_MID_STREAM = "error-mid-stream"
    MALFORMED_LINE = "malformed-line"
    RESET_MID_STREAM = "reset-mid-stream"
    RESET_BEFORE_HEADERS = "reset-before-headers"
    HANG = "hang"
    HANG_MID_STREAM = "hang-mid-stream"
    RATE_LIMITED = "rate-limited"
    ERROR_IN_200 = "error-in-200"
    PROCESSING_COMMENTS = "processing-comments"
    CRLF = "crlf"
    SPLIT_CHUNKS = "split-chunks"
    NO_TERMINATOR = "no-terminator"
    HTML_500 = "html-500"
    WRONG_CONTENT_TYPE = "wrong-content-type"
    GIGANTIC_CHUNK = "gigantic-chunk"
    UNKNOWN_MODEL = "unknown-model"
    UNAUTHORIZED = "unauthorized"
    TOOL_CALLS = "tool-calls"
    THINKING = "thinking"
    USAGE_MISSING = "usage-missing"
    FIREHOSE = "firehose"
    IGNORE_LIMIT = "ignore-limit"


class UnknownScenarioError(ValueError):
    """The X-Simulator-Scenario header names no scenario."""


def _default_tokens() -> list[str]:
    return ["Hello", "!", " The", " café", " opens", " at", " nine", " 🙂"]


def _default_models() -> list[str]:
    return [
        "llama3.2:latest",
        "qwen3:0.6b",
        "gpt-4o-mini",
        "openai/gpt-4o",
        "meta-llama/llama-3.2-3b-instruct:free",
    ]


@dataclass
class SimulatorConfig:
    """Knobs read on every request, so a test may change them while a simulator runs."""

    first_token_delay: float = 2.0
    token_interval: float = 0.02
    tokens: list[str] = field(default_factory=_default_tokens)
    thinking_tokens: list[str] = field(default_factory=lambda: ["Let", " me", " think", "."])
    hang_seconds: float = 30.0
    retry_after: int = 7
    gigantic_bytes: int = 4 * MIB
    firehose_bytes: int = 64 * MIB
    known_models: list[str] = field(default_factory=_default_models)
    api_key: str | None = None
    fault_after: int = 3
    runaway_tokens: int = 2000
    """How many tokens the ignore-limit scenario makes (paced like `paced` when streamed)."""
    pricing: tuple[str, str] | None = ("0.000001", "0.000002")
    """OpenRouter's listed price of every model (USD per prompt and completion token, as
    its strings), or none listed."""
    cost_per_token: tuple[float, float] | None = (0.000001, 0.000002)
    """What OpenRouter's `usage.cost` charges a prompt and a completion token, or no cost."""
    embedding_size: int = 16
    """Numbers in a vector when the request names no `dimensions`."""
    embedding_batch_limit: int = 2048
    """Inputs one embeddings request may carry."""
    embeddings_enabled: bool = True
    """False: the OpenAI-compatible simulator answers embeddings as llama.cpp's server does
    without `--embeddings` (501)."""
    embedding_order_reversed: bool = False
    """OpenAI's `data` items sent last index first (their `index` still right)."""
    tool_name: str = "get_weather"
    tool_arguments: dict[str, Any] = field(default_factory=lambda: {"city": "Tokyo"})


def scenario_from_model(model: str) -> Scenario | None:
    segment = model.rsplit("/", 1)[-1].split(":", 1)[0]
    try:
        return Scenario(segment)
    except ValueError:
        return None


def select_scenario(headers: Mapping[str, str], model: str) -> Scenario:
    named = headers.get(SCENARIO_HEADER)
    if named is not None:
        try:
            return Scenario(named.strip())
        except ValueError:
            raise UnknownScenarioError(f"unknown simulator scenario {named!r}") from None
    return scenario_from_model(model) or Scenario.NORMAL


def is_known_model(config: SimulatorConfig, model: str, *, default_tag: str = "") -> bool:
    if scenario_from_model(model) is not None or model in config.known_models:
        return True
    tagged = f"{model}:{default_tag}"
    return bool(default_tag) and ":" not in model and tagged in config.known_models


def authorized(config: SimulatorConfig, headers: Mapping[str, str]) -> bool:
    return config.api_key is None or headers.get("authorization") == f"Bearer {config.api_key}"


def prompt_token_count(messages: Any) -> int:
    """Deterministic stand-in for a tokenizer: words in every text part plus 3 per message."""
    if not isinstance(messages, list):
        return 1
    count = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        parts = content if isinstance(content, list) else [content]
        for part in parts:
            text = part.get("text") if isinstance(part, dict) else part
            count += len(text.split()) if isinstance(text, str) else 0
        count += 3
    return max(count, 1)
