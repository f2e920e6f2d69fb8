"""`OpenAICompatSimulator`: OpenAI or OpenRouter chat completions with scripted faults, and
`/v1/embeddings` as `embeddings` describes it."""

import asyncio
import secrets
import time

from .embeddings import (
    NOT_SUPPORTED_BODY,
    EmbeddingRequestError,
    embeds,
    known,
    openai_body,
    parse_openai,
    play_embeddings,
    whole_plan,
)
from .exchange import Exchange
from .framing import sse_comment, sse_data, truncated
from .openai_request import ChatInput, ChatRequestError, parse_chat
from .openai_wire import (
    PROVIDER_ERROR,
    SERVER_ERROR,
    Completion,
    Flavor,
    error_body,
    models_body,
)
from .playback import Plan, early_fault, html_reply, keep_alive, make_plan, play_body, play_frames
from .scenarios import (
    Scenario,
    SimulatorConfig,
    UnknownScenarioError,
    authorized,
    is_known_model,
    prompt_token_count,
    select_scenario,
)
from .server import SimulatorServer

PROCESSING = b"OPENROUTER PROCESSING"
WHITESPACE = (b"\n", b"\n", b" \n")
Reply = tuple[int, bytes, list[tuple[str, str]]]


class OpenAICompatSimulator(SimulatorServer):
    """`/v1/chat/completions`, `/v1/embeddings` and `/v1/models`, also under OpenRouter's
    `/api` prefix."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        flavor: Flavor = "openai",
        port: int = 0,
        idle_timeout: float = 120.0,
    ) -> None:
        super().__init__(config, port=port, idle_timeout=idle_timeout)
        self.flavor: Flavor = flavor

    @property
    def openrouter(self) -> bool:
        return self.flavor == "openrouter"

    async def handle(self, exchange: Exchange) -> None:
        request = exchange.request
        path = (
            request.path.removeprefix("/api")
            if request.path.startswith("/api/v1/")
            else request.path
        )
        route = (request.method, path)
        if route == ("POST", "/v1/chat/completions"):
            await self._chat(exchange, Completion(self.flavor, ""))
        elif route == ("POST", "/v1/embeddings"):
            await self._embeddings(exchange, Completion(self.flavor, ""))
        elif route == ("GET", "/v1/models") and (self.openrouter or self._authorized(exchange)):
            body = models_body(self.flavor, self.config)
            await exchange.respond(200, body, [("Content-Type", "application/json")])
        elif route == ("GET", "/v1/models"):
            await self._respond(exchange, self._unauthorized(exchange))
        else:
            message = "Not Found" if self.openrouter else f"Invalid URL ({request.method} {path})"
            await self._respond(exchange, (404, error_body(self.flavor, 404, message), []))

    def _authorized(self, exchange: Exchange) -> bool:
        return authorized(self.config, exchange.request.headers)

    def _unauthorized(self, exchange: Exchange) -> Reply:
        missing = "authorization" not in exchange.request.headers
        if self.openrouter:
            message = "Missing Authentication header" if missing else "User not found."
            return 401, error_body(self.flavor, 401, message), []
        if missing:
            message = "You didn't provide an API key. You need to provide your API key in an "
            message += (
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return 401, error_body(self.flavor, 401, message), []
        message = "Incorrect API key provided. You can find your API key at "
        message += "https://platform.openai.com/account/api-keys."
        return 401, error_body(self.flavor, 401, message, code="invalid_api_key"), []

    def _headers(
        self, exchange: Exchange, completion: Completion, *, sse: bool
    ) -> list[tuple[str, str]]:
        if self.openrouter:
            content_type = "text/event-stream" if sse else "application/json"
            headers = [("Content-Type", content_type), ("X-Generation-Id", completion.id)]
            return [*headers, ("Cache-Control", "no-cache")] if sse else headers
        elapsed_ms = int((time.monotonic() - exchange.request.received_at) * 1000)
        content_type = "text/event-stream; charset=utf-8" if sse else "application/json"
        headers = [("Content-Type", content_type), ("x-request-id", f"req_{secrets.token_hex(16)}")]
        headers.append(("openai-processing-ms", str(elapsed_ms)))
        return [*headers, ("Cache-Control", "no-cache, must-revalidate")] if sse else headers

    async def _respond(
        self, exchange: Exchange, reply: Reply, completion: Completion | None = None
    ) -> None:
        status, body, extra = reply
        headers = [("Content-Type", "application/json"), *extra]
        if completion is not None and self.openrouter:
            headers.append(("X-Generation-Id", completion.id))
        await exchange.respond(status, body, headers)

    async def _chat(self, exchange: Exchange, completion: Completion) -> None:
        request = exchange.request
        if not self._authorized(exchange):
            await self._respond(exchange, self._unauthorized(exchange), completion)
            return
        try:
            chat = parse_chat(request.body, openrouter=self.openrouter)
            request.unknown_fields, request.images = chat.unknown_fields, chat.images
            request.scenario = select_scenario(request.headers, chat.model)
        except (ChatRequestError, UnknownScenarioError) as exc:
            param = exc.param if isinstance(exc, ChatRequestError) else None
            body = error_body(self.flavor, 400, str(exc), param=param)
            await self._respond(exchange, (400, body, []), completion)
            return
        completion.model = chat.model
        completion.include_usage = chat.include_usage
        completion.obfuscate = chat.obfuscate
        completion.cost_per_token = self.config.cost_per_token
        if not is_known_model(self.config, chat.model):
            await self._respond(exchange, self._not_found(chat.model), completion)
            return
        await self._play(exchange, self._plan(chat, Scenario(request.scenario)), completion)

    async def _embeddings(self, exchange: Exchange, completion: Completion) -> None:
        request = exchange.request
        if not self._authorized(exchange):
            await self._respond(exchange, self._unauthorized(exchange), completion)
            return
        if not self.config.embeddings_enabled:
            await self._respond(exchange, (501, NOT_SUPPORTED_BODY, []))
            return
        try:
            embedding = parse_openai(request.body, self.config)
            request.scenario = select_scenario(request.headers, embedding.model)
        except (EmbeddingRequestError, UnknownScenarioError) as exc:
            param = exc.param if isinstance(exc, EmbeddingRequestError) else None
            body = error_body(self.flavor, 400, str(exc), param=param)
            await self._respond(exchange, (400, body, []), completion)
            return
        if not known(self.config, embedding.model):
            await self._respond(exchange, self._not_found(embedding.model), completion)
        elif not embeds(embedding.model):
            message = "You are not allowed to generate embeddings from this model"
            await self._respond(exchange, (400, error_body(self.flavor, 400, message), []))
        else:
            plan = whole_plan(self.config, Scenario(request.scenario), embedding.model)
            fixed = self._fixed_reply(exchange, plan)
            if fixed is not None:
                status, body, extra = fixed
                fixed = status, body, [("Content-Type", "application/json"), *extra]
            await play_embeddings(
                exchange,
                plan,
                self.config,
                fixed=fixed,
                headers=self._headers(exchange, completion, sse=False),
                failure=error_body(self.flavor, 500, SERVER_ERROR, kind="server_error"),
                body=openai_body(embedding, self.config),
            )

    def _plan(self, chat: ChatInput, scenario: Scenario) -> Plan:
        return make_plan(
            self.config,
            scenario,
            chat.model,
            stream=chat.stream,
            limit=chat.limit,
            prompt_tokens=prompt_token_count(chat.messages),
            tools=chat.data.get("tools"),
        )

    def _not_found(self, model: str) -> Reply:
        if self.openrouter:
            return 404, error_body(self.flavor, 404, f"No endpoints found for {model}."), []
        message = f"The model '{model}' does not exist"
        return 404, error_body(self.flavor, 404, message, param="model", code="model_not_found"), []

    def _fixed_reply(self, exchange: Exchange, plan: Plan) -> Reply | None:
        match plan.scenario:
            case Scenario.ERROR_BEFORE_STREAM:
                message = "Internal Server Error" if self.openrouter else SERVER_ERROR
                return 500, error_body(self.flavor, 500, message, kind="server_error"), []
            case Scenario.RATE_LIMITED:
                return self._rate_limited()
            case Scenario.UNKNOWN_MODEL:
                return self._not_found(plan.model)
            case Scenario.UNAUTHORIZED:
                return self._unauthorized(exchange)
            case _:
                return None

    def _rate_limited(self) -> Reply:
        retry_after = self.config.retry_after
        if not self.openrouter:
            headers = [("Retry-After", str(retry_after)), ("x-ratelimit-limit-requests", "60")]
            headers += [("x-ratelimit-remaining-requests", "0")]
            headers += [("x-ratelimit-reset-requests", f"{retry_after}s")]
            message = "Rate limit reached for requests"
            body = error_body(
                self.flavor, 429, message, kind="requests", code="rate_limit_exceeded"
            )
            return 429, body, headers
        reset_ms = int(time.time() * 1000) + retry_after * 1000
        limits = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}
        limits["X-RateLimit-Reset"] = str(reset_ms)
        message = "Rate limit exceeded: free-models-per-min."
        body = error_body(self.flavor, 429, message, metadata={"headers": limits})
        return 429, body, [*limits.items(), ("Retry-After", str(retry_after))]

    async def _play(self, exchange: Exchange, plan: Plan, completion: Completion) -> None:
        if await early_fault(exchange, plan.scenario, self.config):
            return
        reply = html_reply(plan.scenario) or self._fixed_reply(exchange, plan)
        if reply is not None:
            status, body, headers = reply
            if plan.scenario in (Scenario.HTML_500, Scenario.WRONG_CONTENT_TYPE):
                await exchange.respond(status, body, headers)
            else:
                await self._respond(exchange, reply, completion)
        elif plan.stream:
            await self._stream(exchange, plan, completion)
        else:
            await self._single(exchange, plan, completion)

    def _frames(self, plan: Plan, completion: Completion, eol: bytes) -> tuple[list[bytes], int]:
        deltas = completion.deltas(plan, self.config)
        frames = [sse_data(completion.chunk(delta), eol) for delta in deltas]
        tail = [sse_data(completion.chunk({}, plan.finish_reason), eol)]
        wants_usage = self.openrouter or completion.include_usage
        if wants_usage and plan.scenario is not Scenario.USAGE_MISSING:
            tail.append(sse_data(completion.usage_chunk(plan), eol))
        tail.append(sse_data(b"[DONE]", eol))
        return frames + tail, len(tail)

    async def _stream(self, exchange: Exchange, plan: Plan, completion: Completion) -> None:
        crlf = plan.scenario in (Scenario.CRLF, Scenario.SPLIT_CHUNKS)
        eol = b"\r\n" if crlf else b"\n"
        comment = sse_comment(PROCESSING, eol)
        lead = [comment] if self.openrouter else []
        await exchange.start_stream(200, self._headers(exchange, completion, sse=True))
        if plan.scenario is Scenario.SLOW_FIRST_TOKEN and self.openrouter:
            await keep_alive(exchange, comment, self.config.first_token_delay)
            lead = []
        elif plan.scenario is Scenario.SLOW_FIRST_TOKEN:
            await asyncio.sleep(self.config.first_token_delay)
        error_frame = sse_data(completion.stream_error(), eol)
        if plan.scenario is Scenario.ERROR_IN_200:
            await exchange.send_all([*lead, error_frame])
            await exchange.end_stream()
            return
        frames, terminal = self._frames(plan, completion, eol)
        between = comment if plan.scenario is Scenario.PROCESSING_COMMENTS else b""
        lead += [comment] * 3 if between else []
        await play_frames(
            exchange,
            [*lead, *frames],
            self.config,
            error_frame=error_frame,
            terminal=terminal,
            between=between,
        )

    async def _single(self, exchange: Exchange, plan: Plan, completion: Completion) -> None:
        slow = plan.scenario is Scenario.SLOW_FIRST_TOKEN
        headers = self._headers(exchange, completion, sse=False)
        if self.openrouter:
            await exchange.start_stream(200, headers)
            if slow:
                await keep_alive(exchange, b"\n", self.config.first_token_delay)
            await exchange.send_all(WHITESPACE)
        elif slow:
            await asyncio.sleep(self.config.first_token_delay)
        failed = plan.scenario in (Scenario.ERROR_MID_STREAM, Scenario.ERROR_IN_200)
        if failed and self.openrouter:
            body = error_body(self.flavor, 502, PROVIDER_ERROR)
        elif failed:
            status = 200 if plan.scenario is Scenario.ERROR_IN_200 else 500
            body = error_body(self.flavor, 500, SERVER_ERROR, kind="server_error")
            await exchange.respond(status, body, headers)
            return
        else:
            finish = None if plan.scenario is Scenario.NO_TERMINATOR else plan.finish_reason
            usage = plan.scenario is not Scenario.USAGE_MISSING
            body = completion.completion(plan, self.config, finish, usage=usage)
        if plan.scenario is Scenario.MALFORMED_LINE:
            body = truncated(body)
        await play_body(exchange, 200, headers, body, self.config)
