"""What the Messages and Responses API tests share: the providers (the simulators and the
built-in mock) and the model that makes each play a scenario."""

from __future__ import annotations

from typing import Any

SIMULATED = ("ollama", "openai")
PROVIDERS = ("mock", *SIMULATED)
MOCK_REPLY = "This is a mock reply from quart_llm. You said: Hello there"
WEATHER_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}


def model(provider: str, scenario: str = "normal") -> str:
    """The model that makes `provider` play `scenario` (the mock has one model)."""
    return "mock/mock-1" if provider == "mock" else f"{provider}/sim/{scenario}"
