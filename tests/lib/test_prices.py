"""Prices and costs in exact decimals; budgets in whole micro-dollars, rounded up."""

from decimal import Decimal

import pytest

from quart_llm.lib.prices import Price, to_micros, usd_from_reported, usd_of_micros


def test_a_cost_is_the_exact_product_of_tokens_and_prices() -> None:
    price = Price(Decimal("0.15"), Decimal("0.6"))
    assert price.cost(1000, 500) == Decimal("0.00045")
    assert price.cost(3, 3) == Decimal("0.00000225"), "no binary rounding"
    assert price.cost(0, 0) == 0


def test_per_token_strings_are_read_exactly() -> None:
    price = Price.per_token("0.00000015", "0.0000006")
    assert price == Price(Decimal("0.15"), Decimal("0.6"))


@pytest.mark.parametrize("text", ["-1", "abc", "NaN", "Infinity", ""])
def test_what_is_not_a_price_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a price"):
        Price.per_token(text, "0")


def test_micro_dollars_round_up_and_back() -> None:
    assert to_micros(Decimal("0.00000225")) == 3
    assert to_micros(Decimal("0.000002")) == 2
    assert to_micros(Decimal(5)) == 5_000_000
    assert usd_of_micros(1234) == Decimal("0.001234")


def test_a_reported_cost_is_read_as_written() -> None:
    assert usd_from_reported(0.0001) == Decimal("0.0001")
    assert usd_from_reported(0) == 0


def test_the_dearest_of_two_prices_takes_each_side_s_maximum() -> None:
    cheap_in = Price(Decimal(1), Decimal(9))
    cheap_out = Price(Decimal(5), Decimal(2))
    assert cheap_in.dearest(cheap_out) == Price(Decimal(5), Decimal(9))
