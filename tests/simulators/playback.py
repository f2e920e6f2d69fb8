"""Flavor-independent playback: what a scenario does to a list of frames or a whole body."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle, islice
from typing import Any

from .exchange import Exchange, Headers
from .framing import odd_pieces, truncated
from .scenarios import Scenario, SimulatorConfig

RESET_PAUSE = 0.05
KEEPALIVE_EVERY = 0.5
FIREHOSE_WRITE = 64 * 1024


@dataclass(frozen=True)
class Plan:
    """What the model 'generates' for one chat request."""

    scenario: Scenario
    model: str
    stream: bool
    content: tuple[str, ...]
    thinking: tuple[str, ...]
    tool_call: bool
    tool_name: str
    finish_reason: str
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return len(self.content) + len(self.thinking) + int(self.tool_call)


def make_plan(
    config: SimulatorConfig,
    scenario: Scenario,
    model: str,
    *,
    stream: bool,
    limit: int | None,
    prompt_tokens: int,
    tools: Any,
) -> Plan:
    tool_call = scenario is Scenario.TOOL_CALLS
    content: tuple[str, ...] = tuple(config.tokens)
    if tool_call:
        content = ()
    elif scenario is Scenario.GIGANTIC_CHUNK:
        content = ("x" * config.gigantic_bytes,)
    elif scenario is Scenario.IGNORE_LIMIT:
        content = tuple(islice(cycle(config.tokens), config.runaway_tokens))
        limit = None
    finish_reason = "tool_calls" if tool_call else "stop"
    if limit is not None and 0 <= limit < len(content):
        content, finish_reason = content[:limit], "length"
    thinking = tuple(config.thinking_tokens) if scenario is Scenario.THINKING else ()
    return Plan(
        scenario=scenario,
        model=model,
        stream=stream,
        content=content,
        thinking=thinking,
        tool_call=tool_call,
        tool_name=first_tool_name(tools) or config.tool_name,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
    )


def first_tool_name(tools: Any) -> str | None:
    if isinstance(tools, list) and tools and isinstance(tools[0], dict):
        function = tools[0].get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return str(function["name"])
    return None


async def early_fault(exchange: Exchange, scenario: Scenario, config: SimulatorConfig) -> bool:
    if scenario is Scenario.RESET_BEFORE_HEADERS:
        await exchange.reset()
        return True
    if scenario is Scenario.HANG:
        await exchange.hang(config.hang_seconds)
        return True
    return False


async def keep_alive(exchange: Exchange, frame: bytes, duration: float) -> None:
    """Send `frame` now and every KEEPALIVE_EVERY seconds until `duration` has passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    while True:
        await exchange.send(frame)
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        await asyncio.sleep(min(KEEPALIVE_EVERY, remaining))
        if loop.time() >= deadline:
            return


async def play_frames(
    exchange: Exchange,
    frames: Sequence[bytes],
    config: SimulatorConfig,
    *,
    error_frame: bytes,
    terminal: int,
    between: bytes = b"",
) -> None:
    """Write the frames of a started chunked stream the way the request's scenario wants."""
    scenario = Scenario(exchange.request.scenario or Scenario.NORMAL)
    cut = max(0, min(config.fault_after, len(frames) - terminal - 1))
    match scenario:
        case Scenario.ERROR_MID_STREAM:
            await exchange.send_all([*frames[:cut], error_frame])
        case Scenario.MALFORMED_LINE:
            await exchange.send_all([*frames[:cut], truncated(frames[cut]), *frames[cut:]])
        case Scenario.RESET_MID_STREAM:
            await exchange.send_all(frames[:cut])
            await asyncio.sleep(RESET_PAUSE)
            await exchange.reset()
            return
        case Scenario.HANG_MID_STREAM:
            await exchange.send_all(frames[:cut])
            await exchange.hang(config.hang_seconds)
            return
        case Scenario.NO_TERMINATOR:
            await exchange.send_all(frames[: len(frames) - terminal])
        case Scenario.SPLIT_CHUNKS:
            await exchange.send_all(odd_pieces(b"".join(frames)))
        case Scenario.PACED | Scenario.IGNORE_LIMIT:
            await exchange.send_all(frames, config.token_interval)
        case Scenario.FIREHOSE:
            await firehose(exchange, frames, terminal, config.firehose_bytes)
        case _ if between:
            await exchange.send_all(_interleave(frames, between))
        case _:
            await exchange.send_all(frames)
    await exchange.end_stream()


async def firehose(exchange: Exchange, frames: Sequence[bytes], terminal: int, total: int) -> None:
    """The answer's frames but the last `terminal`, again and again, as fast as the client
    takes them, until `total` bytes have gone; then the last frames."""
    content = b"".join(frames[: len(frames) - terminal])
    burst = content * max(1, FIREHOSE_WRITE // len(content))
    while exchange.request.streamed_bytes < total:
        await exchange.send(burst)
        exchange.request.streamed_bytes += len(burst)
    await exchange.send_all(frames[len(frames) - terminal :])


def _interleave(frames: Sequence[bytes], between: bytes) -> list[bytes]:
    mixed: list[bytes] = []
    for index, frame in enumerate(frames):
        if index and between not in (frame, frames[index - 1]):
            mixed.append(between)
        mixed.append(frame)
    return mixed


async def play_body(
    exchange: Exchange,
    status: int,
    headers: Headers,
    body: bytes,
    config: SimulatorConfig,
    *,
    chunked: bool = False,
) -> None:
    """Write a whole (non-stream) body, or part of it for the mid-body fault scenarios."""
    scenario = Scenario(exchange.request.scenario or Scenario.NORMAL)
    if not exchange.headers_sent:
        chunked = chunked or scenario is Scenario.SPLIT_CHUNKS
        await exchange.start(status, headers, None if chunked else len(body))
    write = exchange.send if exchange.chunked else exchange.send_raw
    half = body[: len(body) // 2]
    match scenario:
        case Scenario.RESET_MID_STREAM:
            await write(half)
            await asyncio.sleep(RESET_PAUSE)
            await exchange.reset()
            return
        case Scenario.HANG_MID_STREAM:
            await write(half)
            await exchange.hang(config.hang_seconds)
            return
        case Scenario.SPLIT_CHUNKS if exchange.chunked:
            await exchange.send_all(odd_pieces(body))
        case _:
            await write(body)
    if exchange.chunked:
        await exchange.end_stream()
    else:
        exchange.complete = True


HTML_500_BODY = (
    b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
    b"<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
PORTAL_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>\n"
    b"<body><h1>Welcome!</h1><p>Please sign in to continue.</p></body></html>\n"
)


def html_reply(scenario: Scenario) -> tuple[int, bytes, list[tuple[str, str]]] | None:
    if scenario is Scenario.HTML_500:
        return 500, HTML_500_BODY, [("Content-Type", "text/html"), ("Server", "nginx")]
    if scenario is Scenario.WRONG_CONTENT_TYPE:
        return 200, PORTAL_BODY, [("Content-Type", "text/html; charset=utf-8")]
    return None
