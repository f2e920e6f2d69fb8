from __future__ import annotations

import random

import pytest

from quart_llm.config.models import RetrySettings
from quart_llm.errors import UpstreamConnectError, UpstreamProtocolError, UpstreamStatusError
from quart_llm.routing.backoff import retry_delay

SETTINGS = RetrySettings(
    attempts=3, backoff_initial_seconds=0.5, backoff_max_seconds=1.5, max_retry_after_seconds=10
)


def test_exponential_with_full_jitter_and_a_ceiling() -> None:
    rng = random.Random(1)
    error = UpstreamConnectError("p", "refused")
    for number, ceiling in ((0, 0.5), (1, 1.0), (2, 1.5)):
        delays = [retry_delay(error, number, SETTINGS, rng) for _ in range(200)]
        assert all(d is not None and 0 <= d <= ceiling for d in delays)
        assert max(d for d in delays if d is not None) > ceiling * 0.8
    assert retry_delay(error, 3, SETTINGS, rng) is None, "attempts exhausted"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (429, True),
        (502, True),
        (503, True),
        (504, True),
        (500, False),
        (400, False),
        (404, False),
    ],
)
def test_which_statuses_are_retried(status: int, retryable: bool) -> None:
    error = UpstreamStatusError("p", "x", upstream_status=status)
    assert (retry_delay(error, 0, SETTINGS, random.Random(0)) is not None) is retryable


def test_retry_after_is_honoured_up_to_the_bound() -> None:
    polite = UpstreamStatusError("p", "x", upstream_status=429, headers={"Retry-After": "3"})
    assert retry_delay(polite, 0, SETTINGS, random.Random(0)) == 3
    greedy = UpstreamStatusError("p", "x", upstream_status=429, headers={"Retry-After": "60"})
    assert retry_delay(greedy, 0, SETTINGS, random.Random(0)) is None


def test_protocol_errors_are_not_retried() -> None:
    assert retry_delay(UpstreamProtocolError("p", "x"), 0, SETTINGS, random.Random(0)) is None
