"""`OllamaSimulator`: the Ollama native API (PROTOCOLS section 1) with scripted faults;
`/api/embed` as `embeddings` describes it."""

import asyncio

from .embeddings import (
    EmbeddingRequestError,
    embeds,
    known,
    ollama_body,
    parse_ollama,
    play_embeddings,
    whole_plan,
)
from .exchange import Exchange
from .framing import go_json, ndjson_line, truncated
from .ollama_request import ChatInput, OllamaRequestError, parse_chat
from .ollama_wire import (
    JSON_UTF8,
    NDJSON,
    VERSION,
    error_body,
    load_body,
    single_body,
    stream_lines,
    tags_body,
)
from .playback import Plan, early_fault, html_reply, make_plan, play_body, play_frames
from .scenarios import (
    Scenario,
    UnknownScenarioError,
    authorized,
    is_known_model,
    prompt_token_count,
    select_scenario,
)
from .server import SimulatorServer

TEXT_UTF8 = "text/plain; charset=utf-8"
RUNNER_ERROR = "llama runner process has terminated: exit status 2"
MID_STREAM_ERROR = "an error was encountered while running the model"
IN_200_ERROR = "model runner has unexpectedly stopped"
Reply = tuple[int, bytes, list[tuple[str, str]]]


class OllamaSimulator(SimulatorServer):
    """`/`, `/api/version`, `/api/tags`, `/api/chat` (NDJSON unless `"stream": false`) and
    `/api/embed`."""

    async def handle(self, exchange: Exchange) -> None:
        request = exchange.request
        route = (request.method, request.path)
        if request.path == "/" and request.method in ("GET", "HEAD"):
            await exchange.respond(200, b"Ollama is running", [("Content-Type", TEXT_UTF8)])
        elif not authorized(self.config, request.headers):
            await self._error(exchange, 401, "unauthorized")
        elif route == ("GET", "/api/version"):
            body = go_json({"version": VERSION})
            await exchange.respond(200, body, [("Content-Type", JSON_UTF8)])
        elif route == ("GET", "/api/tags"):
            await exchange.respond(200, tags_body(self.config), [("Content-Type", JSON_UTF8)])
        elif route == ("POST", "/api/chat"):
            await self._chat(exchange)
        elif route == ("POST", "/api/embed"):
            await self._embed(exchange)
        else:
            await exchange.respond(404, b"404 page not found", [("Content-Type", "text/plain")])

    async def _error(self, exchange: Exchange, status: int, message: str) -> None:
        await exchange.respond(status, error_body(message), [("Content-Type", JSON_UTF8)])

    async def _chat(self, exchange: Exchange) -> None:
        request = exchange.request
        try:
            chat = parse_chat(request.body)
        except OllamaRequestError as exc:
            await self._error(exchange, exc.status, exc.message)
            return
        request.unknown_fields, request.images = chat.unknown_fields, chat.images
        try:
            request.scenario = select_scenario(request.headers, chat.model)
        except UnknownScenarioError as exc:
            await self._error(exchange, 400, str(exc))
            return
        if not is_known_model(self.config, chat.model, default_tag="latest"):
            await self._error(exchange, 404, f"model '{chat.model}' not found")
        elif not chat.messages:
            reason = "unload" if chat.data.get("keep_alive") == 0 else "load"
            body = load_body(chat.model, reason)
            await exchange.respond(200, body, [("Content-Type", JSON_UTF8)])
        else:
            await self._play(exchange, self._plan(chat, Scenario(request.scenario)))

    async def _embed(self, exchange: Exchange) -> None:
        request = exchange.request
        try:
            embedding = parse_ollama(request.body, self.config)
            request.scenario = select_scenario(request.headers, embedding.model)
        except (EmbeddingRequestError, UnknownScenarioError) as exc:
            await self._error(exchange, 400, str(exc))
            return
        if not known(self.config, embedding.model, default_tag="latest"):
            await self._error(
                exchange, 404, f'model "{embedding.model}" not found, try pulling it first'
            )
            return
        if not embeds(embedding.model):
            await self._error(exchange, 400, f'"{embedding.model}" does not support embeddings')
            return
        plan = whole_plan(self.config, Scenario(request.scenario), embedding.model)
        await play_embeddings(
            exchange,
            plan,
            self.config,
            fixed=self._fixed_reply(plan),
            headers=[("Content-Type", JSON_UTF8)],
            failure=error_body(MID_STREAM_ERROR),
            body=ollama_body(embedding, self.config),
        )

    def _plan(self, chat: ChatInput, scenario: Scenario) -> Plan:
        return make_plan(
            self.config,
            scenario,
            chat.model,
            stream=chat.stream,
            limit=chat.num_predict,
            prompt_tokens=prompt_token_count(chat.messages),
            tools=chat.data.get("tools"),
        )

    async def _play(self, exchange: Exchange, plan: Plan) -> None:
        if await early_fault(exchange, plan.scenario, self.config):
            return
        reply = html_reply(plan.scenario) or self._fixed_reply(plan)
        if reply is not None:
            await exchange.respond(*reply)
            return
        if plan.scenario is Scenario.SLOW_FIRST_TOKEN:
            await asyncio.sleep(self.config.first_token_delay)
        if plan.stream:
            await self._stream(exchange, plan)
        else:
            await self._single(exchange, plan)

    def _fixed_reply(self, plan: Plan) -> Reply | None:
        headers = [("Content-Type", JSON_UTF8)]
        match plan.scenario:
            case Scenario.ERROR_BEFORE_STREAM:
                content_type = "application/json" if plan.stream else JSON_UTF8
                return 500, error_body(RUNNER_ERROR), [("Content-Type", content_type)]
            case Scenario.RATE_LIMITED:
                retry = ("Retry-After", str(self.config.retry_after))
                return 429, error_body("too many requests"), [*headers, retry]
            case Scenario.UNKNOWN_MODEL:
                return 404, error_body(f"model '{plan.model}' not found"), headers
            case Scenario.UNAUTHORIZED:
                return 401, error_body("unauthorized"), headers
            case _:
                return None

    async def _stream(self, exchange: Exchange, plan: Plan) -> None:
        eol = b"\r\n" if plan.scenario is Scenario.CRLF else b"\n"
        await exchange.start_stream(200, [("Content-Type", NDJSON)])
        if plan.scenario is Scenario.ERROR_IN_200:
            await exchange.send(ndjson_line({"error": IN_200_ERROR}))
            await exchange.end_stream()
            return
        with_metrics = plan.scenario is not Scenario.USAGE_MISSING
        lines = stream_lines(plan, self.config, eol=eol, with_metrics=with_metrics)
        error_line = ndjson_line({"error": MID_STREAM_ERROR}, eol)
        await play_frames(exchange, lines, self.config, error_frame=error_line, terminal=1)

    async def _single(self, exchange: Exchange, plan: Plan) -> None:
        headers = [("Content-Type", JSON_UTF8)]
        if plan.scenario is Scenario.ERROR_MID_STREAM:
            await exchange.respond(500, error_body(MID_STREAM_ERROR), headers)
            return
        if plan.scenario is Scenario.ERROR_IN_200:
            await exchange.respond(200, error_body(IN_200_ERROR), headers)
            return
        body = single_body(
            plan,
            self.config,
            with_metrics=plan.scenario is not Scenario.USAGE_MISSING,
            terminated=plan.scenario is not Scenario.NO_TERMINATOR,
        )
        if plan.scenario is Scenario.MALFORMED_LINE:
            body = truncated(body)
        await play_body(exchange, 200, headers, body, self.config)
