"""OpenAI and OpenRouter chat bodies and chunks (PROTOCOLS 2.2-2.6, 4.2-4.7)."""

import hashlib
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from .framing import compact_json, text_pieces
from .playback import Plan
from .scenarios import SimulatorConfig

Flavor = Literal["openai", "openrouter"]
FINGERPRINT = "fp_sim0001"
PROVIDER = "Simulated"
OBFUSCATION = "kQ2x7RfY0vZ"
ARGUMENT_PIECE = 5
_ALPHANUM = string.ascii_letters + string.digits


def new_id(flavor: Flavor, created: int) -> str:
    token = "".join(secrets.choice(_ALPHANUM) for _ in range(20))
    return f"gen-{created}-{token}" if flavor == "openrouter" else f"chatcmpl-{token}"


def tool_call_id(name: str) -> str:
    return "call_" + hashlib.sha256(name.encode()).hexdigest()[:24]


@dataclass
class Completion:
    """Identity and options shared by every chunk of one reply."""

    flavor: Flavor
    model: str
    include_usage: bool = True
    obfuscate: bool = False
    cost_per_token: tuple[float, float] | None = (0.000001, 0.000002)
    created: int = field(default_factory=lambda: int(time.time()))
    id: str = ""
    _count: int = 0

    def __post_init__(self) -> None:
        self.id = self.id or new_id(self.flavor, self.created)

    @property
    def openrouter(self) -> bool:
        return self.flavor == "openrouter"

    def _envelope(self, kind: str) -> dict[str, Any]:
        head: dict[str, Any]
        if self.openrouter:
            head = {"id": self.id, "provider": PROVIDER, "model": self.model}
            return head | {"object": kind, "created": self.created}
        head = {"id": self.id, "object": kind, "created": self.created, "model": self.model}
        return head | {"service_tier": "default", "system_fingerprint": FINGERPRINT}

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        if self.openrouter:
            choice |= {"native_finish_reason": finish_reason, "logprobs": None}
            return compact_json(self._envelope("chat.completion.chunk") | {"choices": [choice]})
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        chunk = self._envelope("chat.completion.chunk") | {"choices": [choice]}
        if self.include_usage:
            chunk["usage"] = None
        if self.obfuscate:
            self._count += 1
            chunk["obfuscation"] = OBFUSCATION[: 1 + (self._count * 5) % len(OBFUSCATION)]
        return compact_json(chunk)

    def usage_chunk(self, plan: Plan) -> bytes:
        chunk = self._envelope("chat.completion.chunk") | {"choices": [], "usage": self.usage(plan)}
        return compact_json(chunk)

    def usage(self, plan: Plan) -> dict[str, Any]:
        prompt, completion = plan.prompt_tokens, plan.completion_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": len(plan.thinking)},
        }
        if self.openrouter:
            usage |= {"is_byok": False, "cost_details": {"upstream_inference_cost": None}}
            if self.cost_per_token is not None:
                per_prompt, per_completion = self.cost_per_token
                usage["cost"] = prompt * per_prompt + completion * per_completion
        else:
            usage["completion_tokens_details"] |= {
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            }
        return usage

    def base_delta(self, content: str | None = "") -> dict[str, Any]:
        if self.openrouter:
            return {
                "role": "assistant",
                "content": content,
                "reasoning": None,
                "reasoning_details": [],
            }
        return {}

    def role_delta(self, plan: Plan, config: SimulatorConfig) -> dict[str, Any]:
        if self.openrouter:
            delta = self.base_delta()
        else:
            content = None if plan.tool_call else ""
            delta = {"role": "assistant", "content": content, "refusal": None}
        if plan.tool_call:
            function = {"name": plan.tool_name, "arguments": ""}
            call = {"index": 0, "id": tool_call_id(plan.tool_name), "type": "function"}
            delta["tool_calls"] = [call | {"function": function}]
        return delta

    def thinking_delta(self, text: str) -> dict[str, Any]:
        if not self.openrouter:
            return {"reasoning": text}
        detail = {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
        return self.base_delta() | {"reasoning": text, "reasoning_details": [detail]}

    def content_delta(self, text: str) -> dict[str, Any]:
        return self.base_delta(text) if self.openrouter else {"content": text}

    def argument_deltas(self, config: SimulatorConfig) -> list[dict[str, Any]]:
        arguments = compact_json(config.tool_arguments).decode()
        return [
            self.base_delta() | {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            for piece in text_pieces(arguments, ARGUMENT_PIECE)
        ]

    def deltas(self, plan: Plan, config: SimulatorConfig) -> list[dict[str, Any]]:
        deltas = [self.role_delta(plan, config)]
        deltas += [self.thinking_delta(text) for text in plan.thinking]
        if plan.tool_call:
            deltas += self.argument_deltas(config)
        return deltas + [self.content_delta(text) for text in plan.content]

    def message(self, plan: Plan, config: SimulatorConfig) -> dict[str, Any]:
        text = "".join(plan.content)
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if self.openrouter:
            message["reasoning"] = "".join(plan.thinking) or None
        else:
            message["content"] = None if plan.tool_call else text
            message["annotations"] = []
            if plan.thinking:
                message["reasoning"] = "".join(plan.thinking)
        if plan.tool_call:
            arguments = compact_json(config.tool_arguments).decode()
            function = {"name": plan.tool_name, "arguments": arguments}
            call = {"id": tool_call_id(plan.tool_name), "type": "function", "function": function}
            message["tool_calls"] = [call]
        return message

    def completion(
        self, plan: Plan, config: SimulatorConfig, finish_reason: str | None, *, usage: bool
    ) -> bytes:
        message = self.message(plan, config)
        choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None}
        choice["finish_reason"] = finish_reason
        if self.openrouter:
            choice["native_finish_reason"] = finish_reason
        body = self._envelope("chat.completion") | {"choices": [choice]}
        if usage:
            body["usage"] = self.usage(plan)
        return compact_json(body)

    def stream_error(self) -> bytes:
        if not self.openrouter:
            return error_body("openai", 500, SERVER_ERROR, kind="server_error")
        error = {"code": 502, "message": PROVIDER_ERROR, "metadata": PROVIDER_METADATA}
        choice = {"index": 0, "delta": {"content": ""}, "finish_reason": "error"}
        choice["native_finish_reason"] = "error"
        head = {"id": self.id, "object": "chat.completion.chunk", "created": self.created}
        head |= {"model": self.model, "provider": PROVIDER, "error": error}
        return compact_json(head | {"choices": [choice]})


SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"
PROVIDER_ERROR = "Provider returned error"
PROVIDER_METADATA = {"error_type": "provider_unavailable", "provider_name": PROVIDER}


def error_body(
    flavor: Flavor,
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> bytes:
    if flavor == "openrouter":
        error: dict[str, Any] = {"code": status, "message": message}
        return compact_json({"error": error | ({"metadata": metadata} if metadata else {})})
    error = {"message": message, "type": kind, "param": param, "code": code}
    return compact_json({"error": error})


def models_body(flavor: Flavor, config: SimulatorConfig) -> bytes:
    if flavor == "openai":
        data = [
            {"id": name, "object": "model", "created": 1_686_935_002, "owned_by": "system"}
            for name in config.known_models
        ]
        return compact_json({"object": "list", "data": data})
    models = [openrouter_model(name, config.pricing) for name in config.known_models]
    return compact_json({"data": models})


def openrouter_model(name: str, pricing: tuple[str, str] | None) -> dict[str, Any]:
    modality = {"modality": "text->text", "input_modalities": ["text"]}
    top = {"context_length": 8192, "max_completion_tokens": 4096, "is_moderated": False}
    model: dict[str, Any] = {
        "id": name,
        "canonical_slug": name,
        "name": name.rsplit("/", 1)[-1],
        "created": 1_692_901_234,
        "context_length": 8192,
        "architecture": modality | {"output_modalities": ["text"]},
        "top_provider": top,
        "supported_parameters": ["temperature", "top_p", "max_tokens", "stop", "tools"],
    }
    if pricing is not None:
        model["pricing"] = {"prompt": pricing[0], "completion": pricing[1]}
    return model
