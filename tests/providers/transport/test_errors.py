"""`upstream_errors` is the only place transport exceptions are caught: it must map them all,
httpx's and aiohttp's alike, to the most specific gateway error."""

from __future__ import annotations

import inspect
from types import ModuleType

import aiohttp
import httpx
import pytest

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.providers.transport.errors import upstream_errors


def exception_classes(module: ModuleType, base: type[Exception]) -> list[type[Exception]]:
    return sorted(
        (
            member
            for _, member in inspect.getmembers(module, inspect.isclass)
            if issubclass(member, base) and member.__module__.startswith(module.__name__)
        ),
        key=lambda cls: cls.__name__,
    )


def instantiate(cls: type[Exception]) -> Exception:
    request = httpx.Request("GET", "http://127.0.0.1/")
    if issubclass(cls, httpx.HTTPStatusError):
        return cls("boom", request=request, response=httpx.Response(500, request=request))
    if issubclass(cls, httpx.RequestError):
        return cls("boom", request=request)
    if issubclass(cls, httpx.StreamError) and cls is not httpx.StreamError:
        return cls()  # type: ignore[call-arg]
    if issubclass(cls, aiohttp.ClientResponseError):
        return cls(None, (), message="boom")  # type: ignore[arg-type]
    if issubclass(cls, aiohttp.ClientConnectorError):
        return cls(None, OSError(111, "boom"))  # type: ignore[arg-type]
    if issubclass(cls, aiohttp.ServerFingerprintMismatch):
        return cls(b"boom", b"boom", "127.0.0.1", 443)
    if issubclass(cls, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return cls("boom")
    if issubclass(cls, aiohttp.ServerDisconnectedError):
        return cls("boom")
    return cls("boom")


TRANSPORT_EXCEPTIONS = [
    *exception_classes(httpx, Exception),
    *exception_classes(aiohttp, aiohttp.ClientError),
]


@pytest.mark.parametrize("cls", TRANSPORT_EXCEPTIONS, ids=lambda cls: cls.__qualname__)
def test_every_transport_exception_becomes_an_upstream_error(cls: type[Exception]) -> None:
    try:
        exception = instantiate(cls)
    except TypeError:
        pytest.skip(f"{cls.__name__} takes arguments this test does not know")
    with pytest.raises(UpstreamError) as caught, upstream_errors("p"):
        raise exception
    error = caught.value
    assert error.provider == "p"
    assert error.message.startswith("provider 'p': ")
    assert "boom" not in error.message, "library texts may carry URLs; they are not repeated"
    assert error.__cause__ is exception


@pytest.mark.parametrize(
    ("exception", "expected", "status"),
    [
        (httpx.ConnectError("x"), UpstreamConnectError, 503),
        (httpx.ConnectTimeout("x"), UpstreamTimeout, 504),
        (httpx.ReadTimeout("x"), UpstreamTimeout, 504),
        (httpx.PoolTimeout("x"), UpstreamTimeout, 504),
        (httpx.RemoteProtocolError("x"), UpstreamProtocolError, 502),
        (httpx.ReadError("x"), UpstreamProtocolError, 502),
        (aiohttp.ConnectionTimeoutError("connect"), UpstreamTimeout, 504),
        (aiohttp.SocketTimeoutError("read"), UpstreamTimeout, 504),
        (aiohttp.ServerDisconnectedError(), UpstreamProtocolError, 502),
        (aiohttp.ClientPayloadError("short"), UpstreamProtocolError, 502),
        (aiohttp.ClientOSError(104, "reset"), UpstreamProtocolError, 502),
        (aiohttp.InvalidURL("ftp://x"), UpstreamConnectError, 503),
        (aiohttp.ClientError("other"), UpstreamConnectError, 503),
    ],
)
def test_most_specific_mapping(
    exception: Exception, expected: type[UpstreamError], status: int
) -> None:
    with pytest.raises(expected) as caught, upstream_errors("p"):
        raise exception
    assert type(caught.value) is expected
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("exception", "retryable"),
    [
        (httpx.ConnectTimeout("x"), True),
        (httpx.PoolTimeout("x"), True),
        (aiohttp.ConnectionTimeoutError("connect"), True),
        (httpx.ReadTimeout("x"), False),
        (aiohttp.SocketTimeoutError("read"), False),
    ],
)
def test_only_timeouts_before_the_upstream_saw_the_request_are_retryable(
    exception: Exception, retryable: bool
) -> None:
    with pytest.raises(UpstreamTimeout) as caught, upstream_errors("p"):
        raise exception
    assert caught.value.retryable is retryable


def test_our_own_errors_pass_through() -> None:
    original = UpstreamProtocolError("p", "bad")
    with pytest.raises(UpstreamProtocolError) as caught, upstream_errors("p"):
        raise original
    assert caught.value is original


def test_other_exceptions_are_not_touched() -> None:
    with pytest.raises(KeyError), upstream_errors("p"):
        raise KeyError("x")
