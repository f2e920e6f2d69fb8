"""`map_upstream_errors` is the only place httpx exceptions are caught: it must map them all."""

from __future__ import annotations

import inspect

import httpx
import pytest

from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from quart_llm.providers.base import map_upstream_errors


def httpx_exception_classes() -> list[type[Exception]]:
    return sorted(
        (
            member
            for _, member in inspect.getmembers(httpx, inspect.isclass)
            if issubclass(member, Exception) and member.__module__.startswith("httpx")
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
    return cls("boom")


@pytest.mark.parametrize("cls", httpx_exception_classes(), ids=lambda cls: cls.__name__)
def test_every_httpx_exception_becomes_an_upstream_error(cls: type[Exception]) -> None:
    with pytest.raises(UpstreamError) as caught, map_upstream_errors("p"):
        raise instantiate(cls)
    error = caught.value
    assert error.provider == "p"
    assert error.message.startswith("provider 'p': ")
    assert "boom" not in error.message, "httpx texts may carry URLs; they are not repeated"
    assert isinstance(error.__cause__, cls)


@pytest.mark.parametrize(
    ("exception", "expected", "status"),
    [
        (httpx.ConnectError("x"), UpstreamConnectError, 503),
        (httpx.ConnectTimeout("x"), UpstreamTimeout, 504),
        (httpx.ReadTimeout("x"), UpstreamTimeout, 504),
        (httpx.PoolTimeout("x"), UpstreamTimeout, 504),
        (httpx.RemoteProtocolError("x"), UpstreamProtocolError, 502),
        (httpx.ReadError("x"), UpstreamProtocolError, 502),
    ],
)
def test_most_specific_mapping(
    exception: Exception, expected: type[UpstreamError], status: int
) -> None:
    with pytest.raises(expected) as caught, map_upstream_errors("p"):
        raise exception
    assert caught.value.status == status


def test_our_own_errors_pass_through() -> None:
    original = UpstreamProtocolError("p", "bad")
    with pytest.raises(UpstreamProtocolError) as caught, map_upstream_errors("p"):
        raise original
    assert caught.value is original


def test_other_exceptions_are_not_touched() -> None:
    with pytest.raises(KeyError), map_upstream_errors("p"):
        raise KeyError("x")
