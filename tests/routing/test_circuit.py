from __future__ import annotations

from quart_llm.config.models import CircuitSettings
from quart_llm.routing.circuit import CircuitBreaker, CircuitState


def state_of(breaker: CircuitBreaker) -> CircuitState:
    """Read through a call, so the type checker does not keep a narrowed property value."""
    return breaker.state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_and_half_opens_after_the_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(CircuitSettings(failure_threshold=3, cooldown_seconds=10), clock)
    for _ in range(2):
        breaker.record_failure()
    assert state_of(breaker) is CircuitState.CLOSED
    breaker.record_failure()
    assert state_of(breaker) is CircuitState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after_seconds == 10
    clock.now += 10
    assert state_of(breaker) is CircuitState.HALF_OPEN
    assert breaker.allow(), "one trial request"
    assert not breaker.allow(), "only one at a time"
    breaker.record_success()
    assert state_of(breaker) is CircuitState.CLOSED
    assert breaker.allow()


def test_a_failed_trial_opens_it_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker(CircuitSettings(failure_threshold=1, cooldown_seconds=5), clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    breaker.record_failure()
    assert state_of(breaker) is CircuitState.OPEN
    assert breaker.retry_after_seconds == 5


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(CircuitSettings(failure_threshold=2, cooldown_seconds=5), Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state_of(breaker) is CircuitState.CLOSED
