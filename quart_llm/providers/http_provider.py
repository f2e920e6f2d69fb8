"""The pipeline every provider that speaks HTTP shares; adapters state only their transforms.

An adapter (`ollama`, `openai_compat`, ...) says how to build the chat body, where the routes
are, how to parse a whole answer and the items of a stream, and what an error looks like.
Everything else is written here once: the pooled transport, the request headers, the
mapping of transport failures (`upstream_errors`), redirects and error statuses, bounded
reads and decoding of bodies (`upstream_bodies`), what of the upstream's words may be shown
(`upstream_text`), the stream read loop with its line limit, the end-of-stream rule and the
in-band error rule (`in_band_error`).

Upstream requests go over HTTP/1.1 on purpose: leaving an httpx HTTP/2 stream early does not
reset it, so the upstream would keep generating. Over HTTP/1.1 closing the response drops the
connection, which every upstream notices at once.

Requests go straight to the transport with a prepared URL and headers: the `AsyncClient`
layer above it (URL merging, cookie jar, auth and redirect machinery) cost a seventh of a
whole answer in the benchmark and offers nothing a gateway wants; an upstream's cookies must
never be replayed on other callers' requests.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any, ClassVar

import httpx

from quart_llm.config.models import ProviderSettings
from quart_llm.errors import InvalidRequest, UpstreamProtocolError, UpstreamStatusError
from quart_llm.observability.request_ids import REQUEST_ID_HEADER, current_request_id
from quart_llm.observability.request_trace import upstream_trace_headers
from quart_llm.providers.answers import Completion, EmbeddingInputs, Embeddings, StreamChunk
from quart_llm.providers.base import Provider
from quart_llm.providers.connection_limit import ConnectionLimit
from quart_llm.providers.stream_reading import StreamParser, read_stream
from quart_llm.providers.transport import build_transport
from quart_llm.providers.transport.errors import upstream_errors
from quart_llm.providers.upstream_bodies import (
    MAX_DECODED_BYTES,
    iter_body,
    parse_json_body,
    read_bounded,
    request_body,
)
from quart_llm.providers.upstream_errors import redirect_error, status_error
from quart_llm.providers.upstream_text import UpstreamText
from quart_llm.providers.wire.framing import DEFAULT_MAX_LINE_BYTES
from quart_llm.providers.wire.stream_items import StreamItems
from quart_llm.schemas.chat_request import ChatRequest

_REQUEST_ID_HEADER = REQUEST_ID_HEADER.encode("latin-1")
_NOT_IMPLEMENTED = 501


class HTTPProvider(Provider):
    """A provider reached over HTTP; subclasses state the wire format."""

    chat_path: ClassVar[str]
    embed_path: ClassVar[str]
    models_path: ClassVar[str]
    probe_path: ClassVar[str]
    stream_items: ClassVar[type[StreamItems]]
    stream_accept: ClassVar[str]
    stream_content_types: ClassVar[tuple[str, ...]]

    def __init__(
        self, name: str, settings: ProviderSettings, upstream_text: UpstreamText | None = None
    ) -> None:
        super().__init__(name, settings, upstream_text)
        options = settings.options
        self.max_line_bytes = int(options.get("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
        self.max_decoded_bytes = int(options.get("max_decoded_bytes", MAX_DECODED_BYTES))
        if self.max_line_bytes < 1 or self.max_decoded_bytes < 1:
            raise ValueError("options.max_line_bytes and max_decoded_bytes must be positive")
        self._transport: httpx.AsyncBaseTransport | None = None
        self.base_url = str(settings.base_url).rstrip("/")
        self._urls: dict[str, httpx.URL] = {}
        # Headers as httpx keeps them (bytes), Host included: a request built from a ready
        # stream and raw headers costs 2 µs instead of 8 (measured), skipping httpx's encoding.
        self._base_headers = [
            (b"Host", httpx.URL(self.base_url).netloc),
            *(
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in self.default_headers().items()
            ),
        ]
        # Only connecting is timed by the transport. Answers are timed by their reader (the
        # read-ahead's watchdog, the whole answer's deadline): a socket read timeout as well
        # would re-arm a timer on every upstream read, 6 % of the gateway's CPU on paced
        # streams (py-spy, bench/). A probe is short and timed by the transport throughout.
        connect = settings.timeouts.connect
        self._answer_timeout = _timeout(connect, None)
        self._probe_timeout = _timeout(connect, connect)
        self._connections = ConnectionLimit(
            name, settings.max_connections, settings.pool_wait_seconds
        )

    # The transforms an adapter states.

    @abstractmethod
    def chat_payload(self, request: ChatRequest, model: str, *, stream: bool) -> dict[str, Any]:
        """The upstream's chat body for `request`, addressed to its own `model` name."""

    @abstractmethod
    def parse_completion(self, parsed: Any, request: ChatRequest) -> Completion:
        """A whole answer from the upstream's parsed JSON body."""

    @abstractmethod
    def stream_parser(self, request: ChatRequest) -> StreamParser:
        """A parser for one streamed answer to `request`."""

    @abstractmethod
    def parse_models(self, parsed: Any) -> list[str]:
        """Model names from the upstream's parsed model list."""

    def embedding_payload(
        self, inputs: EmbeddingInputs, model: str, dimensions: int | None, user: str | None
    ) -> dict[str, Any]:
        """The upstream's embeddings body for `inputs`, addressed to its own `model` name
        (`model`, `input`, `dimensions`: what OpenAI and Ollama both read; `user`: OpenAI's)."""
        payload: dict[str, Any] = {"model": model, "input": inputs}
        if dimensions is not None:
            payload["dimensions"] = dimensions
        return payload

    @abstractmethod
    def parse_embeddings(self, parsed: Any, count: int) -> Embeddings:
        """`count` vectors, in the inputs' order, from the upstream's parsed JSON body."""

    def default_headers(self) -> dict[str, str]:
        """Headers sent on every request to this upstream."""
        headers = {"User-Agent": "quart_llm", "Accept-Encoding": "identity"}
        key = self.settings.resolved_api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    # The pipeline.

    async def start(self) -> None:
        if self._transport is None:
            self._transport = build_transport(self.settings.transport)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None

    async def complete(self, request: ChatRequest, model: str) -> Completion:
        content = request_body(self.chat_payload(request, model, stream=False))
        parsed = await self._fetch_json("POST", self.chat_path, content)
        return self.parse_completion(parsed, request)

    async def stream_batches(
        self, request: ChatRequest, model: str
    ) -> AsyncGenerator[list[StreamChunk]]:
        content = request_body(self.chat_payload(request, model, stream=True))
        parser = self.stream_parser(request)
        del request  # this frame lives as long as the stream: keep no copy of the prompt
        with upstream_errors(self.name):
            async with self.exchange(
                "POST", self.chat_path, content=content, accept=self.stream_accept
            ) as response:
                del content  # sent (see `exchange`)
                await self.raise_for_status(response)
                self.require_content_type(response, *self.stream_content_types)
                items = self.stream_items(self.max_line_bytes)
                body = iter_body(self.name, response, self.max_decoded_bytes, self.upstream_text)
                batches = read_stream(body, items, parser)
                async with aclosing(batches):
                    async for batch in batches:
                        yield batch

    async def embed(
        self, inputs: EmbeddingInputs, model: str, dimensions: int | None, user: str | None = None
    ) -> Embeddings:
        """An upstream that answers 501 does not implement embeddings (llama.cpp's server
        without `--embeddings`): that is the request's 400, as for a provider configured not
        to embed, not a failing upstream."""
        content = request_body(self.embedding_payload(inputs, model, dimensions, user))
        try:
            parsed = await self._fetch_json("POST", self.embed_path, content)
        except UpstreamStatusError as error:
            if error.upstream_status != _NOT_IMPLEMENTED:
                raise
            raise InvalidRequest(
                f"provider {self.name!r} does not make embeddings ({error.detail})",
                param="model",
                code="embeddings_unsupported",
            ) from None
        return self.parse_embeddings(parsed, len(inputs))

    async def list_models(self) -> list[str]:
        return self.parse_models(await self._fetch_json("GET", self.models_path))

    async def probe(self) -> None:
        with upstream_errors(self.name):
            async with self.exchange("GET", self.probe_path, probe=True) as response:
                await self.raise_for_status(response)
                if response.status_code != 200:
                    raise UpstreamProtocolError(
                        self.name, f"{self.probe_path} answered {response.status_code}"
                    )

    @asynccontextmanager
    async def exchange(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        accept: str | None = None,
        probe: bool = False,
    ) -> AsyncIterator[httpx.Response]:
        """Send one request, with the request's id and, when traced, the attempt's
        `traceparent`; the response body is read inside the block and closed after it.
        Transport exceptions are left to the caller's `upstream_errors`. Once sent, the request
        and its body (the whole prompt) are let go: a stream lives for minutes."""
        headers = self._base_headers.copy()
        if content is not None:
            headers.append((b"Content-Type", b"application/json"))
            headers.append((b"Content-Length", b"%d" % len(content)))
        if accept is not None:
            headers.append((b"Accept", accept.encode("latin-1")))
        request_id = current_request_id.get()
        if request_id:
            headers.append((_REQUEST_ID_HEADER, request_id.encode("latin-1")))
        headers.extend(upstream_trace_headers.get())
        request = httpx.Request(
            method,
            self._url(path),
            headers=headers,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": self._probe_timeout if probe else self._answer_timeout},
        )
        request.read()
        del content
        async with self._connections.slot(probe):
            response = await self.transport.handle_async_request(request)
            del request
            try:
                yield response
            finally:
                await response.aclose()

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The pooled transport (after `start()`)."""
        if self._transport is None:
            raise RuntimeError(f"provider {self.name!r} used before start()")
        return self._transport

    async def raise_for_status(self, response: httpx.Response) -> None:
        """Raise for a redirect (never followed, its body unread) and for an error status
        (the mapped UpstreamStatusError, its body read, bounded)."""
        status = response.status_code
        if 300 <= status < 400:
            raise redirect_error(self.name, status)
        if status >= 400:
            raise await status_error(self.name, response, self.upstream_text)

    def require_content_type(self, response: httpx.Response, *expected: str) -> None:
        """Raise unless the answer's media type is one of `expected`."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in expected:
            raise UpstreamProtocolError(
                self.name,
                f"unexpected content type {self.upstream_text.token(content_type)}; "
                f"expected {' or '.join(expected)}",
            )

    def _url(self, path: str) -> httpx.URL:
        """The upstream URL of `path` (relative to base_url), parsed once."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url

    async def _fetch_json(self, method: str, path: str, content: bytes | None = None) -> Any:
        """A whole JSON answer, read up to `max_line_bytes`."""
        with upstream_errors(self.name):
            async with self.exchange(
                method, path, content=content, accept="application/json"
            ) as response:
                await self.raise_for_status(response)
                self.require_content_type(response, "application/json")
                limit = self.max_line_bytes + 1
                body = await read_bounded(self.name, response, limit, self.upstream_text)
        if len(body) > self.max_line_bytes:
            raise UpstreamProtocolError(
                self.name, f"the answer exceeds {self.max_line_bytes} bytes"
            )
        return parse_json_body(self.name, body)


def _timeout(connect: float, read: float | None) -> dict[str, float | None]:
    """httpx's per-request timeout extension (what `httpx.Timeout.as_dict()` gives)."""
    return {"connect": connect, "read": read, "write": connect, "pool": connect}
