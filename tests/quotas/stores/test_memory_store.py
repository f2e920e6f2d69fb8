"""The QuotaStore contract, run against both stores, then what only the memory store promises.

Redis tests here use real time, so they use long periods (a window boundary inside a test is
then practically impossible) or short ones after `fresh_window`.
"""

from __future__ import annotations

import random

import pytest

from quart_llm.quotas.stores.base import WindowLimit
from quart_llm.quotas.stores.limit_math import settled_tokens
from quart_llm.quotas.stores.memory_store import MemoryQuotaStore
from quart_llm.quotas.stores.usage_counts import UsageCounters, UsageRecord
from tests.quotas.conftest import FakeClock, StoreHarness

HOUR = WindowLimit(10, 3600)


async def test_burst_of_exactly_count_passes_then_refused(store_harness: StoreHarness) -> None:
    store = store_harness.store
    for expected_remaining in range(9, -1, -1):
        decision = await store.hit_request_limits("k", [HOUR])
        assert decision.allowed
        assert decision.states[0].remaining == expected_remaining
    refused = await store.hit_request_limits("k", [HOUR])
    assert not refused.allowed
    assert refused.refused_by == HOUR
    assert refused.retry_after_seconds == pytest.approx(360, abs=1)
    assert refused.states[0].remaining == 0
    assert refused.states[0].reset_seconds == pytest.approx(3600, abs=1)


async def test_remaining_and_reset_after_some_hits(store_harness: StoreHarness) -> None:
    for _ in range(3):
        decision = await store_harness.store.hit_request_limits("k", [HOUR])
    assert decision.allowed
    assert decision.refused_by is None
    assert decision.retry_after_seconds == 0
    assert decision.states[0].limit == HOUR
    assert decision.states[0].remaining == 7
    assert decision.states[0].reset_seconds == pytest.approx(1080, abs=1)


async def test_several_limits_are_all_or_nothing(store_harness: StoreHarness) -> None:
    store = store_harness.store
    short, long = WindowLimit(2, 60), WindowLimit(10, 3600)
    for _ in range(2):
        assert (await store.hit_request_limits("k", [short, long])).allowed
    refused = await store.hit_request_limits("k", [short, long])
    assert not refused.allowed
    assert refused.refused_by == short
    assert refused.retry_after_seconds == pytest.approx(30, abs=1)
    assert [state.remaining for state in refused.states] == [0, 8]
    alone = await store.hit_request_limits("k", [long])
    assert alone.states[0].remaining == 7


async def test_refusal_names_the_limit_with_the_longest_wait(store_harness: StoreHarness) -> None:
    limits = [WindowLimit(1, 10), WindowLimit(1, 100)]
    assert (await store_harness.store.hit_request_limits("k", limits)).allowed
    refused = await store_harness.store.hit_request_limits("k", limits)
    assert refused.refused_by == limits[1]
    assert refused.retry_after_seconds == pytest.approx(100, abs=1)


async def test_request_limits_recover_over_time(store_harness: StoreHarness) -> None:
    limit = WindowLimit(2, 1)
    store = store_harness.store
    assert (await store.hit_request_limits("k", [limit])).allowed
    assert (await store.hit_request_limits("k", [limit])).allowed
    refused = await store.hit_request_limits("k", [limit])
    assert not refused.allowed
    assert 0 < refused.retry_after_seconds <= 0.5
    await store_harness.advance(refused.retry_after_seconds + 0.05)
    assert (await store.hit_request_limits("k", [limit])).allowed


async def test_subjects_and_limits_are_independent(store_harness: StoreHarness) -> None:
    store = store_harness.store
    one = WindowLimit(1, 3600)
    assert (await store.hit_request_limits("a", [one])).allowed
    assert (await store.hit_request_limits("b", [one])).allowed
    assert (await store.hit_request_limits("a", [WindowLimit(2, 3600)])).allowed
    assert not (await store.hit_request_limits("a", [one])).allowed


async def test_no_limits_and_invalid_limits(store_harness: StoreHarness) -> None:
    store = store_harness.store
    assert (await store.hit_request_limits("k", [])).allowed
    assert (await store.reserve_tokens("k", [], 5)).allowed
    with pytest.raises(ValueError, match="count"):
        await store.hit_request_limits("k", [WindowLimit(0, 60)])
    with pytest.raises(ValueError, match="negative"):
        await store.reserve_tokens("k", [HOUR], -1)


async def test_tokens_exact_fit_then_one_more_refused(store_harness: StoreHarness) -> None:
    store, limit = store_harness.store, WindowLimit(1000, 3600)
    first = await store.reserve_tokens("k", [limit], 600)
    assert first.allowed
    assert first.windows == (int(store_harness.now() // 3600),)
    assert first.states[0].remaining == 400
    assert 0 < first.states[0].reset_seconds <= 3600
    full = await store.reserve_tokens("k", [limit], 400)
    assert full.allowed
    assert full.states[0].remaining == 0
    refused = await store.reserve_tokens("k", [limit], 1)
    assert not refused.allowed
    assert refused.refused_by == limit
    assert refused.windows == ()
    assert refused.retry_after_seconds == pytest.approx(full.states[0].reset_seconds, abs=1)


async def test_tokens_all_or_nothing_and_oversized(store_harness: StoreHarness) -> None:
    store = store_harness.store
    short, long = WindowLimit(100, 60), WindowLimit(1000, 3600)
    assert (await store.reserve_tokens("k", [short, long], 80)).allowed
    refused = await store.reserve_tokens("k", [short, long], 30)
    assert refused.refused_by == short
    assert [state.remaining for state in refused.states] == [20, 920]
    assert (await store.reserve_tokens("k", [long], 920)).allowed
    never = await store.reserve_tokens("other", [short], 101)
    assert not never.allowed
    assert never.refused_by == short


async def test_settle_gives_back_and_charges_extra(store_harness: StoreHarness) -> None:
    store, limit = store_harness.store, WindowLimit(1000, 3600)
    full = await store.reserve_tokens("k", [limit], 1000)
    await store.settle_tokens("k", [limit], full.windows, -600)
    assert not (await store.reserve_tokens("k", [limit], 601)).allowed
    back = await store.reserve_tokens("k", [limit], 600)
    assert back.allowed
    assert back.states[0].remaining == 0
    await store.settle_tokens("k", [limit], back.windows, -5000)
    assert (await store.reserve_tokens("k", [limit], 1000)).allowed
    await store.settle_tokens("k", [limit], full.windows, -1000)
    small = await store.reserve_tokens("k", [limit], 100)
    await store.settle_tokens("k", [limit], small.windows, 50)
    assert (await store.reserve_tokens("k", [limit], 0)).states[0].remaining == 850


async def test_a_charge_takes_a_window_at_most_the_overdraft_past_its_count(
    store_harness: StoreHarness,
) -> None:
    store, limit = store_harness.store, WindowLimit(100, 3600)
    first = await store.reserve_tokens("k", [limit], 60)
    second = await store.reserve_tokens("k", [limit], 40)
    await store.settle_tokens("k", [limit], first.windows, 500, overdraft=60)
    await store.settle_tokens("k", [limit], second.windows, 10, overdraft=40)
    await store.settle_tokens("k", [limit], first.windows, -100)
    left = await store.reserve_tokens("k", [limit], 0)
    assert left.states[0].remaining == 40, "160 (100 + 60, not lowered to 140), then 60"


@pytest.mark.parametrize(
    ("used", "delta", "overdraft", "settled"),
    [
        (100, -30, 0, 70),
        (10, -30, 0, 0),
        (90, 5, 0, 95),
        (90, 50, 0, 100),
        (90, 50, 20, 120),
        (130, 5, 20, 130),
        (130, -5, 20, 125),
    ],
)
def test_settled_tokens(used: int, delta: int, overdraft: int, settled: int) -> None:
    assert settled_tokens(used, delta, 100, overdraft) == settled


async def test_settle_against_another_window_is_left_alone(store_harness: StoreHarness) -> None:
    store, limit = store_harness.store, WindowLimit(10, 3600)
    full = await store.reserve_tokens("k", [limit], 10)
    await store.settle_tokens("k", [limit], [full.windows[0] - 1], -10)
    assert not (await store.reserve_tokens("k", [limit], 1)).allowed
    with pytest.raises(ValueError, match="window"):
        await store.settle_tokens("k", [limit], [], -10)


async def test_token_windows_roll_over(store_harness: StoreHarness) -> None:
    limit = WindowLimit(10, 1)
    await store_harness.fresh_window(1)
    full = await store_harness.store.reserve_tokens("k", [limit], 10)
    await store_harness.advance(full.states[0].reset_seconds + 0.05)
    await store_harness.store.settle_tokens("k", [limit], full.windows, 5)
    fresh = await store_harness.store.reserve_tokens("k", [limit], 10)
    assert fresh.allowed
    assert fresh.windows[0] > full.windows[0]


async def test_lease_cap_and_release(store_harness: StoreHarness) -> None:
    store = store_harness.store
    assert await store.acquire_lease("k", 2, "a", 60) == (True, 1)
    assert await store.acquire_lease("k", 2, "b", 60) == (True, 2)
    assert await store.acquire_lease("k", 2, "c", 60) == (False, 2)
    assert await store.acquire_lease("k", 2, "a", 60) == (True, 2)
    assert await store.acquire_lease("other", 2, "c", 60) == (True, 1)
    await store.release_lease("k", "a")
    await store.release_lease("k", "a")
    await store.release_lease("nobody", "x")
    assert await store.acquire_lease("k", 2, "c", 60) == (True, 2)


async def test_lease_expiry_frees_the_slot(store_harness: StoreHarness) -> None:
    store = store_harness.store
    assert (await store.acquire_lease("k", 1, "a", 0.3))[0]
    assert not (await store.acquire_lease("k", 1, "b", 0.3))[0]
    await store_harness.advance(0.4)
    assert await store.acquire_lease("k", 1, "b", 0.3) == (True, 1)


async def test_renewal_keeps_a_lease_alive(store_harness: StoreHarness) -> None:
    store = store_harness.store
    # Margins of half a second or more: on Redis these are real waits on a busy machine.
    assert (await store.acquire_lease("k", 1, "a", 1.0))[0]
    await store_harness.advance(0.5)
    await store.renew_leases({"k": ["a"], "empty": []}, 1.2)
    await store_harness.advance(0.7)
    assert not (await store.acquire_lease("k", 1, "b", 1.0))[0], "renewed past its first expiry"
    await store_harness.advance(1.0)
    assert (await store.acquire_lease("k", 1, "b", 1.0))[0]
    await store.renew_leases({}, 1)


async def test_renewal_does_not_revive_an_expired_lease(store_harness: StoreHarness) -> None:
    store = store_harness.store
    assert (await store.acquire_lease("k", 1, "a", 0.2))[0]
    await store_harness.advance(0.3)
    await store.renew_leases({"k": ["a"]}, 60)
    assert await store.acquire_lease("k", 1, "b", 60) == (True, 1)


def _record(model: str, prompt: int, completion: int, *, estimated: bool = False) -> UsageRecord:
    return UsageRecord("openrouter", model, prompt, completion, estimated)


async def test_usage_by_model_windows_and_total(store_harness: StoreHarness) -> None:
    store, odd_model = store_harness.store, "meta-llama/llama-3:8b:free"
    await store.record_usage("k", _record(odd_model, 10, 5), [3600, 86400])
    await store.record_usage("k", _record(odd_model, 1, 2, estimated=True), [3600, 86400])
    await store.record_usage("k", _record("gpt-4o", 7, 0), [3600, 86400])
    await store.record_usage("other", _record("gpt-4o", 100, 100), [3600])
    report = await store.read_usage("k", [3600, 86400])
    model = UsageCounters(2, 11, 7, 1)
    expected = UsageCounters(
        3, 18, 7, 1, {f"openrouter/{odd_model}": model, "openrouter/gpt-4o": UsageCounters(1, 7)}
    )
    assert report.total == expected
    assert [window.period_seconds for window in report.windows] == [3600, 86400]
    for window in report.windows:
        assert window.counters == expected
        assert window.window_start % window.period_seconds == 0
        assert 0 <= store_harness.now() - window.window_start < window.period_seconds
    assert (await store.read_usage("nobody", [60])).total == UsageCounters()


async def test_usage_windows_end_but_the_total_stays(store_harness: StoreHarness) -> None:
    store = store_harness.store
    await store_harness.fresh_window(1)
    await store.record_usage("k", _record("m", 3, 4), [1])
    before = await store.read_usage("k", [1])
    assert before.windows[0].counters.requests == 1
    await store_harness.next_window(1)
    after = await store.read_usage("k", [1])
    assert after.windows[0].window_start > before.windows[0].window_start
    assert after.windows[0].counters == UsageCounters()
    assert after.total.requests == 1
    assert after.total.by_model["openrouter/m"].completion_tokens == 4


async def _touch_everything(store: MemoryQuotaStore, subject: str) -> None:
    await store.hit_request_limits(subject, [WindowLimit(5, 60), WindowLimit(50, 86400)])
    await store.reserve_tokens(subject, [WindowLimit(500, 60), WindowLimit(5000, 86400)], 10)
    await store.acquire_lease(subject, 3, "lease", 30)
    await store.record_usage(subject, _record("m", 1, 1), [60, 86400])


async def test_memory_stays_bounded(memory_store: MemoryQuotaStore, clock: FakeClock) -> None:
    for index in range(50):
        await _touch_everything(memory_store, f"k{index}")
    sizes = memory_store.sizes()
    assert sizes == {
        "request_limits": 100,
        "token_windows": 100,
        "leases": 50,
        "usage_windows": 100,
        "usage_totals": 50,
    }
    clock.advance(2 * 86400)
    memory_store.sweep()
    assert memory_store.sizes() == {
        "request_limits": 0,
        "token_windows": 0,
        "leases": 0,
        "usage_windows": 0,
        "usage_totals": 50,
    }
    assert (await memory_store.read_usage("k7", [60])).total.requests == 1


async def test_sweeps_happen_by_themselves(clock: FakeClock) -> None:
    store = MemoryQuotaStore(clock, sweep_interval=30)
    await _touch_everything(store, "a")
    clock.advance(29)
    await store.read_usage("b", [])
    assert store.sizes()["leases"] == 1
    clock.advance(86400)
    await store.read_usage("b", [])
    assert store.sizes() == dict.fromkeys(store.sizes(), 0) | {"usage_totals": 1}


async def test_stale_entries_are_dropped_when_touched(clock: FakeClock) -> None:
    store = MemoryQuotaStore(clock, sweep_interval=10_000)
    limit = WindowLimit(10, 60)
    reservation = await store.reserve_tokens("k", [limit], 4)
    await store.acquire_lease("k", 1, "a", 5)
    await store.record_usage("k", _record("m", 1, 1), [60])
    clock.advance(61)
    await store.settle_tokens("k", [limit], reservation.windows, 5)
    assert store.sizes()["token_windows"] == 1
    assert not (await store.reserve_tokens("k", [limit], 11)).allowed
    assert store.sizes()["token_windows"] == 0
    await store.release_lease("k", "other")
    assert store.sizes()["leases"] == 0
    await store.read_usage("k", [60])
    assert store.sizes()["usage_windows"] == 0


@pytest.mark.parametrize("seed", range(20))
async def test_leases_match_a_full_scan_on_every_call(clock: FakeClock, seed: int) -> None:
    """The store skips scanning for expired leases until one can have expired; every answer
    must still be the one a scan of every lease on every call gives."""
    rng = random.Random(seed)
    store = MemoryQuotaStore(clock, sweep_interval=10_000)
    model: dict[str, dict[str, float]] = {}

    def live(subject: str) -> dict[str, float]:
        held = {lease: at for lease, at in model.get(subject, {}).items() if at > clock.now}
        model[subject] = held
        return held

    for _ in range(400):
        subject = rng.choice("ab")
        lease = f"l{rng.randrange(12)}"
        ttl = rng.choice((0.5, 1.0, 3.0))
        action = rng.random()
        if action < 0.45:
            cap = rng.randrange(1, 8)
            held = live(subject)
            granted = lease in held or len(held) < cap
            if granted:
                held[lease] = clock.now + ttl
            assert await store.acquire_lease(subject, cap, lease, ttl) == (granted, len(held))
        elif action < 0.6:
            renewed = rng.sample([f"l{n}" for n in range(12)], 4)
            held = live(subject)
            for name in renewed:
                if name in held:
                    held[name] = clock.now + ttl
            await store.renew_leases({subject: renewed}, ttl)
        elif action < 0.8:
            live(subject).pop(lease, None)
            await store.release_lease(subject, lease)
        else:
            clock.advance(rng.choice((0.1, 0.4, 0.5, 1.0, 2.5)))
    for subject in "ab":
        assert await store.acquire_lease(subject, 10**6, "probe", 1) == (
            True,
            len(live(subject) | {"probe": 0.0}),
        )
