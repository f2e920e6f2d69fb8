"""Embeddings on both wires: OpenAI's `POST /v1/embeddings` and Ollama's `POST /api/embed`.

Requests are checked as the real servers check them (OpenAI: `input` a string, strings, tokens
or token arrays, never empty, at most 2048; `encoding_format` float or base64; `dimensions` only
on models that take it; unknown fields refused. Ollama: `input` a string or strings). A model
embeds when its name says so (`text-embedding-3-small`, `nomic-embed-text`) or when it names a
scenario (`sim/normal`, `sim/rate-limited`); a known chat model is refused as the real servers
refuse it (400). Vectors are deterministic unit vectors of `SimulatorConfig.embedding_size`
numbers (or `dimensions`); `embedding_batch_limit` bounds the inputs of one request.
"""

import asyncio
import base64
import hashlib
import math
import struct
from dataclasses import dataclass
from typing import Any

import orjson

from .exchange import Exchange, Headers
from .framing import truncated
from .playback import Plan, early_fault, html_reply, make_plan, play_body
from .scenarios import Scenario, SimulatorConfig, is_known_model, scenario_from_model

Reply = tuple[int, bytes, list[tuple[str, str]]]
NOT_SUPPORTED_BODY = orjson.dumps(
    {
        "error": {
            "code": 501,
            "message": "This server does not support embeddings. Start it with `--embeddings`",
            "type": "not_supported_error",
        }
    }
)
"""What llama.cpp's server answers when it was started without `--embeddings`."""

OPENAI_EMBEDDING_FIELDS = frozenset({"model", "input", "encoding_format", "dimensions", "user"})
OLLAMA_EMBED_FIELDS = frozenset(
    {"model", "input", "truncate", "options", "keep_alive", "dimensions"}
)
MAX_INPUTS = 2048
FIXED_SIZE_MODELS = frozenset({"text-embedding-ada-002"})
INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."


class EmbeddingRequestError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


@dataclass(frozen=True)
class EmbeddingInput:
    model: str
    inputs: list[Any]
    dimensions: int | None
    base64: bool


def embeds(model: str) -> bool:
    """Whether `model` makes embeddings here (see the module's rule)."""
    return scenario_from_model(model) is not None or "embed" in model


def known(config: SimulatorConfig, model: str, *, default_tag: str = "") -> bool:
    return embeds(model) or is_known_model(config, model, default_tag=default_tag)


def _loads(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise EmbeddingRequestError(
            400, "We could not parse the JSON body of your request."
        ) from None
    if not isinstance(data, dict):
        raise EmbeddingRequestError(400, "The request body must be a JSON object.")
    return data


def _is_token(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_openai(body: bytes, config: SimulatorConfig) -> EmbeddingInput:
    data = _loads(body)
    unknown = sorted(set(data) - OPENAI_EMBEDDING_FIELDS)
    if unknown:
        raise EmbeddingRequestError(400, f"Unrecognized request argument supplied: {unknown[0]}")
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise EmbeddingRequestError(400, "you must provide a model parameter", "model")
    value = data.get("input")
    if isinstance(value, str) and value:
        inputs: list[Any] = [value]
    elif isinstance(value, list) and value and all(_is_token(item) for item in value):
        inputs = [value]
    elif (
        isinstance(value, list)
        and 0 < len(value) <= MAX_INPUTS
        and (
            all(isinstance(item, str) and item for item in value)
            or all(isinstance(item, list) and item and all(map(_is_token, item)) for item in value)
        )
    ):
        inputs = value
    else:
        raise EmbeddingRequestError(400, INVALID_INPUT, "input")
    if len(inputs) > config.embedding_batch_limit:
        limit = config.embedding_batch_limit
        raise EmbeddingRequestError(400, f"Too many inputs: at most {limit} per request.", "input")
    encoding = data.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        message = f"{encoding!r} is not one of ['float', 'base64'] - 'encoding_format'"
        raise EmbeddingRequestError(400, message, "encoding_format")
    dimensions = data.get("dimensions")
    if dimensions is not None and (not _is_token(dimensions) or dimensions < 1):
        raise EmbeddingRequestError(400, "Invalid 'dimensions': must be at least 1.", "dimensions")
    if dimensions is not None and model in FIXED_SIZE_MODELS:
        raise EmbeddingRequestError(400, "This model does not support specifying dimensions.")
    return EmbeddingInput(model, inputs, dimensions, encoding == "base64")


def parse_ollama(body: bytes, config: SimulatorConfig) -> EmbeddingInput:
    data = _loads(body)
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise EmbeddingRequestError(400, "model is required")
    value = data.get("input")
    if isinstance(value, str):
        inputs: list[Any] = [value]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        inputs = value
    else:
        raise EmbeddingRequestError(400, "invalid input type")
    if len(inputs) > config.embedding_batch_limit:
        raise EmbeddingRequestError(400, "too many inputs")
    dimensions = data.get("dimensions")
    if dimensions is not None and (not _is_token(dimensions) or dimensions < 1):
        raise EmbeddingRequestError(400, "dimensions must be a positive integer")
    return EmbeddingInput(model, inputs, dimensions, False)


def vector(value: str | list[int], size: int) -> list[float]:
    """A deterministic unit vector of `size` numbers for `value`."""
    seed = orjson.dumps(value)
    numbers: list[float] = []
    block = 0
    while len(numbers) < size:
        digest = hashlib.blake2b(seed, digest_size=64, salt=block.to_bytes(16, "big")).digest()
        numbers.extend(word / 2**31 - 1.0 for (word,) in struct.iter_unpack(">I", digest))
        block += 1
    numbers = numbers[:size]
    norm = math.sqrt(sum(x * x for x in numbers)) or 1.0
    return [round(x / norm, 7) for x in numbers]


def token_count(value: str | list[int]) -> int:
    return max(1, len(value.split())) if isinstance(value, str) else len(value)


def openai_body(request: EmbeddingInput, config: SimulatorConfig) -> bytes:
    size = request.dimensions or config.embedding_size
    data = []
    for index, value in enumerate(request.inputs):
        numbers = vector(value, size)
        packed = struct.pack(f"<{size}f", *numbers)
        encoded: Any = base64.b64encode(packed).decode() if request.base64 else numbers
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    if config.embedding_order_reversed:
        data.reverse()
    prompt = sum(token_count(value) for value in request.inputs)
    usage = {"prompt_tokens": prompt, "total_tokens": prompt}
    return orjson.dumps({"object": "list", "data": data, "model": request.model, "usage": usage})


def ollama_body(request: EmbeddingInput, config: SimulatorConfig) -> bytes:
    size = request.dimensions or config.embedding_size
    return orjson.dumps(
        {
            "model": request.model,
            "embeddings": [vector(value, size) for value in request.inputs],
            "total_duration": 14_143_917,
            "load_duration": 1_019_500,
            "prompt_eval_count": sum(token_count(value) for value in request.inputs),
        }
    )


def whole_plan(config: SimulatorConfig, scenario: Scenario, model: str) -> Plan:
    """The plan of a whole answer, for the scenarios' faults."""
    return make_plan(config, scenario, model, stream=False, limit=None, prompt_tokens=1, tools=None)


async def play_embeddings(
    exchange: Exchange,
    plan: Plan,
    config: SimulatorConfig,
    *,
    fixed: Reply | None,
    headers: Headers,
    failure: bytes,
    body: bytes,
) -> None:
    """The answer as the request's scenario plays it: the chat scenarios that make sense for a
    whole JSON answer (`fixed` is the wire's own reply for the fixed-failure ones, `failure`
    its error body)."""
    if await early_fault(exchange, plan.scenario, config):
        return
    reply = html_reply(plan.scenario) or fixed
    if reply is not None:
        await exchange.respond(*reply)
        return
    if plan.scenario is Scenario.SLOW_FIRST_TOKEN:
        await asyncio.sleep(config.first_token_delay)
    if plan.scenario in (Scenario.ERROR_MID_STREAM, Scenario.ERROR_IN_200):
        status = 200 if plan.scenario is Scenario.ERROR_IN_200 else 500
        await exchange.respond(status, failure, headers)
        return
    if plan.scenario is Scenario.MALFORMED_LINE:
        body = truncated(body)
    await play_body(exchange, 200, headers, body, config)
