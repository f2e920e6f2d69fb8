from __future__ import annotations

import asyncio
import inspect
import threading

import pytest

from quart_llm.app import create_app
from quart_llm.web import gateway_quart
from quart_llm.web.gateway_quart import GatewayQuart


async def answer() -> str:
    return "async"


def test_the_gateway_app_is_a_gateway_quart() -> None:
    assert isinstance(create_app(), GatewayQuart)


def test_a_coroutine_function_is_returned_as_it_is_and_remembered() -> None:
    app = GatewayQuart("test")
    assert app.ensure_async(answer) is answer
    assert answer in app._coroutine_functions
    assert app.ensure_async(answer) is answer


def test_a_bound_coroutine_method_is_found_again_when_asked_a_second_time() -> None:
    class Hooks:
        async def hook(self) -> None:
            return None

    hooks = Hooks()
    app = GatewayQuart("test")
    app.ensure_async(hooks.hook)
    assert hooks.hook in app._coroutine_functions  # a new bound method, equal to the first


def test_a_synchronous_function_is_wrapped_to_run_off_the_loop_and_never_remembered() -> None:
    threads: list[str] = []

    def work(value: int) -> int:
        threads.append(threading.current_thread().name)
        return value * 2

    app = GatewayQuart("test")
    wrapped = app.ensure_async(work)
    assert wrapped is not work  # type: ignore[comparison-overlap]
    assert work not in app._coroutine_functions

    async def call() -> int:
        return await wrapped(21)

    assert asyncio.run(call()) == 42
    assert threads and threads[0] != threading.main_thread().name


def test_the_functions_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_quart, "_REMEMBERED", 3)
    app = GatewayQuart("test")
    for _ in range(10):

        async def made_per_call() -> None:
            return None

        assert app.ensure_async(made_per_call) is made_per_call
    assert len(app._coroutine_functions) == 3


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __call__(self) -> str:
        return "called"


def test_a_callable_that_cannot_be_hashed_is_asked_about_as_quart_asks() -> None:
    app = GatewayQuart("test")
    synchronous = _Unhashable()
    wrapped = app.ensure_async(synchronous)

    async def call() -> str:
        return await wrapped()

    assert asyncio.run(call()) == "called"
    marked = inspect.markcoroutinefunction(_Unhashable())
    assert app.ensure_async(marked) is marked  # type: ignore[comparison-overlap]
    assert not app._coroutine_functions
