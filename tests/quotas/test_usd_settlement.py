"""USD budgets in the quota service, over both stores (in-process and Redis): the worst case
reserved in micro-dollars, the crossing reservation refused, settlement at the real cost, the
worst case kept when the cost is unknown, nothing charged when nothing was answered."""

from __future__ import annotations

from decimal import Decimal

import pytest

from quart_llm.config.accounting_models import LimitsSettings
from quart_llm.errors import GatewayError, RateLimited
from quart_llm.lib.prices import Price
from quart_llm.quotas.policy import daily_and_monthly_usd, usd_limit
from quart_llm.quotas.service import QuotaService, usd_subject
from quart_llm.quotas.stores.base import WindowLimit
from quart_llm.quotas.stores.usage_counts import UsageRecord
from tests.quotas.conftest import StoreHarness

PRICE = Price(Decimal(1000), Decimal(2000))  # $0.001 and $0.002 a token
WORST = 7 * 1000 + 10 * 2000  # micro-dollars for a 7-token prompt estimate and 10 output
USAGE = UsageRecord("mock", "mock-1", 7, 4, estimated=False)


def service(harness: StoreHarness, amount: str = "0.1") -> QuotaService:
    tier = {
        "requests": [],
        "concurrent_streams": 0,
        "usd": [{"amount": amount, "period_seconds": 3600}],
    }
    return QuotaService(harness.store, LimitsSettings.model_validate({"default": tier}))


async def charged(harness: StoreHarness, amount: str = "0.1") -> int:
    limit = usd_limit(Decimal(amount), 3600)
    decision = await harness.store.reserve_tokens(usd_subject("key"), [limit], 0)
    return limit.count - decision.states[0].remaining


async def test_worst_cases_fit_until_the_next_would_cross(store_harness: StoreHarness) -> None:
    await store_harness.fresh_window(3600, margin=0.01)
    quotas = service(store_harness)
    admitted = [await quotas.admit("key", 7, 10, price=PRICE) for _ in range(3)]
    assert [a.usd_reserved for a in admitted] == [WORST] * 3
    with pytest.raises(RateLimited) as refused:
        await quotas.admit("key", 7, 10, price=PRICE)
    assert refused.value.code == "usd_limit_exceeded"
    assert await charged(store_harness) == 3 * WORST, "the refused one reserved nothing"
    await quotas.finish(admitted[0], USAGE, cost_micros=15_000)
    await quotas.finish(admitted[1], None)
    await quotas.finish(admitted[2], USAGE, cost_micros=None)
    assert await charged(store_harness) == 15_000 + 0 + WORST, (
        "the real cost; nothing for no answer; the worst case for an unknown cost"
    )


async def test_n_choices_reserve_every_answer_s_output(store_harness: StoreHarness) -> None:
    await store_harness.fresh_window(3600, margin=0.01)
    admission = await service(store_harness).admit("key", 7, 10, choices=3, price=PRICE)
    assert admission.usd_reserved == 7 * 1000 + 30 * 2000


async def test_a_settlement_above_the_reservation_stops_one_reservation_past(
    store_harness: StoreHarness,
) -> None:
    await store_harness.fresh_window(3600, margin=0.01)
    quotas = service(store_harness, "0.03")
    admission = await quotas.admit("key", 7, 10, price=PRICE)
    await quotas.finish(admission, USAGE, cost_micros=10 * WORST)
    assert await charged(store_harness, "0.03") == 30_000, "spent, and past"
    limits, windows = admission.usd_limits, admission.usd_windows
    await store_harness.store.settle_tokens(usd_subject("key"), limits, windows, -30_000)
    assert await charged(store_harness, "0.03") == WORST, "it was 30,000 + one worst case"


async def test_without_a_price_a_usd_budget_refuses(store_harness: StoreHarness) -> None:
    with pytest.raises(GatewayError) as refused:
        await service(store_harness).admit("key", 7, 10, price=None, model="mock/mock-2")
    assert (refused.value.status, refused.value.code) == (403, "model_not_priced")
    assert "mock/mock-2" in refused.value.message


def test_a_key_s_daily_and_monthly_budgets_become_windows() -> None:
    assert daily_and_monthly_usd(Decimal("2.5"), Decimal(50)) == (
        WindowLimit(2_500_000, 86_400),
        WindowLimit(50_000_000, 2_592_000),
    )
    assert daily_and_monthly_usd(None, Decimal("0.000001")) == (WindowLimit(1, 2_592_000),)
    assert daily_and_monthly_usd(None, None) == ()


async def test_a_usd_refusal_gives_back_the_tokens_it_reserved(
    store_harness: StoreHarness,
) -> None:
    await store_harness.fresh_window(3600, margin=0.01)
    tier = {
        "requests": [],
        "concurrent_streams": 0,
        "tokens": [{"count": 1000, "period_seconds": 3600}],
        "usd": [{"amount": "0.01", "period_seconds": 3600}],
    }
    quotas = QuotaService(store_harness.store, LimitsSettings.model_validate({"default": tier}))
    with pytest.raises(RateLimited) as refused:
        await quotas.admit("key", 7, 10, price=PRICE)
    assert refused.value.code == "usd_limit_exceeded"
    tokens = WindowLimit(1000, 3600)
    decision = await store_harness.store.reserve_tokens("key", [tokens], 0)
    assert decision.states[0].remaining == 1000, "the tokens reserved first were given back"
