"""Which breaker an outcome counts against: a model's for its failed answers, the provider's
when it cannot be reached, nobody's for a 429."""

from __future__ import annotations

import pytest

from quart_llm.config.models import CircuitSettings, ProviderSettings
from quart_llm.errors import (
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from quart_llm.providers.mock import MockProvider
from quart_llm.routing import circuit_board
from quart_llm.routing.circuit import CircuitState
from quart_llm.routing.circuit_board import CircuitBoard
from quart_llm.routing.route import Route

SETTINGS = CircuitSettings(failure_threshold=2, cooldown_seconds=10)
PROVIDER = MockProvider("up", ProviderSettings(kind="mock"))
A, B = Route(PROVIDER, "model-a"), Route(PROVIDER, "model-b")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def board(clock: Clock | None = None) -> CircuitBoard:
    return CircuitBoard({"up": SETTINGS}, clock or Clock())


def test_failed_answers_open_that_model_only() -> None:
    circuits = board()
    for failure in (
        UpstreamStatusError("up", "boom", upstream_status=500),
        UpstreamProtocolError("up", "cut"),
    ):
        circuits.record(A, failure)
    assert circuits.blocking(A) is not None
    assert circuits.blocking(B) is None
    assert circuits.provider_state("up") is CircuitState.CLOSED
    assert circuits.model_states("up") == {"model-a": CircuitState.OPEN}


def test_an_unreachable_provider_opens_the_provider() -> None:
    circuits = board()
    circuits.record(A, UpstreamConnectError("up", "refused"))
    circuits.record(B, UpstreamTimeout("up", "connecting", unreachable=True))
    assert circuits.provider_state("up") is CircuitState.OPEN
    assert circuits.blocking(A) is not None and circuits.blocking(B) is not None
    assert circuits.model_states("up") == {}


def test_a_silence_after_connecting_is_the_models() -> None:
    circuits = board()
    for _ in range(2):
        circuits.record(A, UpstreamTimeout("up", "no first token"))
    assert circuits.provider_state("up") is CircuitState.CLOSED
    assert circuits.blocking(A) is not None


def test_rate_limits_count_against_nothing() -> None:
    circuits = board()
    for _ in range(10):
        circuits.record(A, UpstreamStatusError("up", "slow down", upstream_status=429))
    assert circuits.blocking(A) is None
    assert circuits.model_states("up") == {}


def test_an_answer_closes_and_forgets_a_models_breaker() -> None:
    clock = Clock()
    circuits = board(clock)
    for _ in range(2):
        circuits.record(A, UpstreamStatusError("up", "boom", upstream_status=502))
    clock.now += 10
    assert circuits.blocking(A) is None, "half-open: one trial may go"
    circuits.enter(A)
    assert circuits.blocking(A) is not None, "only one trial at a time"
    circuits.record(A, None)
    assert circuits.model_states("up") == {}


def test_a_refused_request_counts_as_an_answer() -> None:
    circuits = board()
    circuits.record(A, UpstreamStatusError("up", "bad", upstream_status=500))
    circuits.record(A, UpstreamStatusError("up", "no such model", upstream_status=404))
    circuits.record(A, UpstreamStatusError("up", "bad", upstream_status=500))
    assert circuits.blocking(A) is None, "the count started again"


def test_a_trial_without_an_outcome_frees_its_slot() -> None:
    clock = Clock()
    circuits = board(clock)
    for _ in range(2):
        circuits.record(A, UpstreamStatusError("up", "boom", upstream_status=500))
    clock.now += 10
    circuits.enter(A)
    circuits.release(A)
    assert circuits.blocking(A) is None


def test_model_breakers_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(circuit_board, "MAX_MODEL_BREAKERS", 3)
    circuits = board()
    for index in range(10):
        circuits.record(Route(PROVIDER, f"m{index}"), UpstreamProtocolError("up", "cut"))
    assert len(circuits.model_states("up")) == 3
