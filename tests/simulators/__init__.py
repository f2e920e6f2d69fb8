"""Loopback HTTP servers speaking the Ollama and OpenAI/OpenRouter wire formats."""

from .decoding import SSEEvent, SSEParse, ndjson_lines, parse_ndjson, parse_sse
from .exchange import ClientGoneError, Exchange
from .ollama import OllamaSimulator
from .openai_compat import OpenAICompatSimulator
from .openai_wire import Flavor
from .recording import RecordedRequest
from .scenarios import SCENARIO_HEADER, Scenario, SimulatorConfig
from .server import SimulatorServer

__all__ = [
    "SCENARIO_HEADER",
    "ClientGoneError",
    "Exchange",
    "Flavor",
    "OllamaSimulator",
    "OpenAICompatSimulator",
    "RecordedRequest",
    "SSEEvent",
    "SSEParse",
    "Scenario",
    "SimulatorConfig",
    "SimulatorServer",
    "ndjson_lines",
    "parse_ndjson",
    "parse_sse",
]
