"""Circuit breakers, scoped to what failed: a provider, or one model of a provider.

A breaker is closed while requests flow; each failure counts, a success resets the count.
After `failure_threshold` failures in a row it opens: what it guards is skipped for
`cooldown_seconds`. Then it is half-open: one trial request at a time goes through; success
closes it, failure opens it again. An outcome that says nothing of what a breaker guards
(a 429, or an unreachable provider for a model's breaker) only frees the trial slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from quart_llm.config.models import CircuitSettings


class CircuitState(StrEnum):
    """Closed (requests flow), open (skipped) or half-open (one trial)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """One breaker (see the module)."""

    def __init__(
        self, settings: CircuitSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = settings.failure_threshold
        self._cooldown = settings.cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> CircuitState:
        """The state now (open turns half-open once the cooldown has passed)."""
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at < self._cooldown:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    @property
    def opened_at(self) -> float | None:
        """When it last opened (or failed a trial), by its clock; None while closed."""
        return self._opened_at

    @property
    def retry_after_seconds(self) -> float:
        """Seconds until an open circuit lets a trial through."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    @property
    def idle(self) -> bool:
        """Closed with no failure counted: nothing worth keeping."""
        return self._opened_at is None and self._failures == 0 and not self._trial_running

    def permits(self) -> bool:
        """Would a request go through now? (Takes nothing.)"""
        state = self.state
        return state is CircuitState.CLOSED or (
            state is CircuitState.HALF_OPEN and not self._trial_running
        )

    def allow(self) -> bool:
        """May a request go through now? (Takes the trial slot when half-open.)"""
        if not self.permits():
            return False
        if self.state is CircuitState.HALF_OPEN:
            self._trial_running = True
        return True

    def record_success(self) -> None:
        """An answer: close the circuit."""
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        """A failure: count it, and open (or reopen) the circuit at the threshold."""
        self._trial_running = False
        if self._opened_at is not None:
            self._opened_at = self._clock()
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """An outcome that says nothing of what this breaker guards: free the trial slot."""
        self._trial_running = False
