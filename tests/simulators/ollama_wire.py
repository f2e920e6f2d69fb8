"""Ollama native API bodies, in Go's field order and JSON style (PROTOCOLS 1.3-1.7)."""

import hashlib
import re
import time
from typing import Any

from .framing import go_json, go_timestamp, ndjson_line
from .playback import Plan
from .scenarios import SimulatorConfig

LOAD_NS = 1_334_875
PROMPT_NS_PER_TOKEN = 1_000_000
JSON_UTF8 = "application/json; charset=utf-8"
NDJSON = "application/x-ndjson"
VERSION = "0.12.0"


def assistant(content: str = "", **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, **extra}


def tool_call(plan: Plan, config: SimulatorConfig) -> dict[str, Any]:
    suffix = hashlib.sha256(plan.tool_name.encode()).hexdigest()[:8]
    function = {"index": 0, "name": plan.tool_name, "arguments": config.tool_arguments}
    return {"id": f"call_{suffix}", "function": function}


def done_reason(plan: Plan) -> str:
    return "length" if plan.finish_reason == "length" else "stop"


def metrics(plan: Plan, step_ns: int) -> dict[str, int]:
    prompt_ns = plan.prompt_tokens * PROMPT_NS_PER_TOKEN
    eval_ns = plan.completion_tokens * step_ns
    values = {
        "total_duration": LOAD_NS + prompt_ns + eval_ns,
        "load_duration": LOAD_NS,
        "prompt_eval_count": plan.prompt_tokens,
        "prompt_eval_duration": prompt_ns,
        "eval_count": plan.completion_tokens,
        "eval_duration": eval_ns,
    }
    return {name: value for name, value in values.items() if value}


def line_object(plan: Plan, created_ns: int, message: dict[str, Any]) -> dict[str, Any]:
    created_at = go_timestamp(created_ns)
    return {"model": plan.model, "created_at": created_at, "message": message, "done": False}


def final_object(
    plan: Plan, created_ns: int, message: dict[str, Any], step_ns: int, *, with_metrics: bool
) -> dict[str, Any]:
    final = line_object(plan, created_ns, message)
    final["done"] = True
    final["done_reason"] = done_reason(plan)
    if with_metrics:
        final.update(metrics(plan, step_ns))
    return final


def stream_messages(plan: Plan, config: SimulatorConfig) -> list[dict[str, Any]]:
    messages = [assistant(thinking=text) for text in plan.thinking]
    if plan.tool_call:
        messages.append(assistant(tool_calls=[tool_call(plan, config)]))
    return messages + [assistant(text) for text in plan.content]


def stream_lines(
    plan: Plan, config: SimulatorConfig, *, eol: bytes, with_metrics: bool
) -> list[bytes]:
    step_ns = max(int(config.token_interval * 1e9), 1_000_000)
    start_ns = time.time_ns()
    messages = stream_messages(plan, config)
    lines = [
        ndjson_line(line_object(plan, start_ns + index * step_ns, message), eol)
        for index, message in enumerate(messages)
    ]
    created_ns = start_ns + len(messages) * step_ns
    final = final_object(plan, created_ns, assistant(), step_ns, with_metrics=with_metrics)
    return [*lines, ndjson_line(final, eol)]


def whole_message(plan: Plan, config: SimulatorConfig) -> dict[str, Any]:
    message = assistant("".join(plan.content))
    if plan.thinking:
        message["thinking"] = "".join(plan.thinking)
    if plan.tool_call:
        message["tool_calls"] = [tool_call(plan, config)]
    return message


def single_body(
    plan: Plan, config: SimulatorConfig, *, with_metrics: bool, terminated: bool
) -> bytes:
    step_ns = max(int(config.token_interval * 1e9), 1_000_000)
    message = whole_message(plan, config)
    if not terminated:
        return go_json(line_object(plan, time.time_ns(), message))
    return go_json(final_object(plan, time.time_ns(), message, step_ns, with_metrics=with_metrics))


def load_body(model: str, reason: str) -> bytes:
    created_at = go_timestamp(time.time_ns())
    message = assistant()
    load = {"model": model, "created_at": created_at, "message": message, "done": True}
    return go_json(load | {"done_reason": reason})


def error_body(message: str) -> bytes:
    return go_json({"error": message})


def tags_body(config: SimulatorConfig) -> bytes:
    return go_json({"models": [tag_entry(name) for name in config.known_models]})


def tag_entry(name: str) -> dict[str, Any]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    leading = re.match(r"[A-Za-z]*", name.rsplit("/", 1)[-1])
    family = leading.group(0).lower() if leading else ""
    details = {
        "parent_model": "",
        "format": "gguf",
        "family": family or "llama",
        "families": [family or "llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-05-04T17:37:44.706015396-07:00",
        "size": 2_019_393_189 + len(name),
        "digest": digest,
        "details": details,
    }
