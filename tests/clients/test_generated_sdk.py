"""A client generated from `openapi/openapi-3.1.json` by openapi-python-client builds, imports and
works against a real server: health, models, whole chat, and the streamed operation."""

from __future__ import annotations

import importlib
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.clients.generated_sdk import PACKAGE, generate_client, imported_client
from tests.conftest import TEST_KEY
from tests.support.live_server import LiveServer
from tests.support.sse_reader import parse_sse

EXPECTED = "This is a mock reply from quart_llm. You said: Hello there"
HELLO = {"model": "mock/mock-1", "messages": [{"role": "user", "content": "Hello there"}]}
OPERATIONS = {
    "health": ["get_health"],
    "models": ["list_models"],
    "chat": ["create_chat_completion", "stream_chat_completion"],
    "usage": ["get_usage"],
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("generated-sdk")
    result = generate_client(directory)
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


@pytest.fixture(scope="module")
def sdk(generated: Path) -> Iterator[ModuleType]:
    with imported_client(generated) as package:
        yield package


def operation(tag: str, name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")


def body_model(endpoint: ModuleType) -> Any:
    """The generated request model of an operation, whatever the generator named it."""
    hint = typing.get_type_hints(endpoint.sync_detailed)["body"]
    candidates = typing.get_args(hint) or (hint,)
    return next(model for model in candidates if hasattr(model, "from_dict"))


def authenticated(sdk: ModuleType, server: LiveServer, key: str = TEST_KEY) -> Any:
    return sdk.AuthenticatedClient(
        base_url=server.base_url,
        token=key,
        timeout=httpx.Timeout(20),
        raise_on_unexpected_status=True,
    )


def test_every_operation_is_generated(generated: Path, sdk: ModuleType) -> None:
    for tag, names in OPERATIONS.items():
        for name in names:
            assert (generated / PACKAGE / "api" / tag / f"{name}.py").exists(), (tag, name)
            endpoint = operation(tag, name)
            for function in ("sync", "sync_detailed", "asyncio", "asyncio_detailed"):
                assert callable(getattr(endpoint, function)), (name, function)


def test_health(sdk: ModuleType, server: LiveServer) -> None:
    client = sdk.Client(base_url=server.base_url, timeout=httpx.Timeout(20))
    response = operation("health", "get_health").sync_detailed(client=client)
    assert response.status_code == 200
    report = response.parsed.to_dict()
    assert report["status"] in {"ok", "degraded"}
    assert report["providers"]["mock"]["reachable"] is True


def test_models(sdk: ModuleType, server: LiveServer) -> None:
    listed = operation("models", "list_models").sync(client=authenticated(sdk, server))
    assert "mock/mock-1" in [model.id for model in listed.data]


def test_whole_chat(sdk: ModuleType, server: LiveServer) -> None:
    endpoint = operation("chat", "create_chat_completion")
    request = body_model(endpoint).from_dict(HELLO)
    completion = endpoint.sync(client=authenticated(sdk, server), body=request)
    answer = completion.to_dict()
    assert answer["choices"][0]["message"]["content"] == EXPECTED
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["total_tokens"] > 0


async def test_whole_chat_async(sdk: ModuleType, server: LiveServer) -> None:
    endpoint = operation("chat", "create_chat_completion")
    request = body_model(endpoint).from_dict(HELLO)
    async with authenticated(sdk, server) as client:
        completion = await endpoint.asyncio(client=client, body=request)
    assert completion.to_dict()["choices"][0]["message"]["content"] == EXPECTED


def test_streamed_operation_returns_the_event_stream(sdk: ModuleType, server: LiveServer) -> None:
    endpoint = operation("chat", "stream_chat_completion")
    request = body_model(endpoint).from_dict(HELLO)
    response = endpoint.sync_detailed(client=authenticated(sdk, server), body=request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    stream = parse_sse(response.parsed)
    assert stream.done
    assert stream.text == EXPECTED
    assert any(chunk.get("usage") for chunk in stream.chunks)


def test_bad_request_is_the_documented_error_body(sdk: ModuleType, server: LiveServer) -> None:
    endpoint = operation("chat", "create_chat_completion")
    request = body_model(endpoint).from_dict({**HELLO, "temperature": 9})
    response = endpoint.sync_detailed(client=authenticated(sdk, server), body=request)
    assert response.status_code == 400
    assert response.parsed.to_dict()["error"]["param"] == "temperature"


def test_wrong_key_is_a_401_in_the_openai_shape(sdk: ModuleType, server: LiveServer) -> None:
    client = sdk.AuthenticatedClient(base_url=server.base_url, token="wrong", timeout=20)
    response = operation("models", "list_models").sync_detailed(client=client)
    assert response.status_code == 401
    assert json.loads(response.content)["error"]["code"] == "invalid_api_key"
