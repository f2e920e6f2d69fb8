"""A model's price and what tokens cost at it, in exact decimal arithmetic.

Prices are USD per million tokens, as price lists publish them; `Decimal` keeps `0.15` exactly
`0.15` (a float would not), so a cost is the exact product of counts and prices. Budgets count
whole micro-dollars (millionths of a USD), integers every quota store adds without drift; a
cost becomes micro-dollars rounded up, so a budget is never charged less than was spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

MILLION = Decimal(1_000_000)
MICROS_PER_USD = 1_000_000


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million input (prompt) and output (completion) tokens."""

    input_per_million: Decimal
    output_per_million: Decimal

    @classmethod
    def per_token(cls, prompt: str, completion: str) -> Price:
        """The price of a list that quotes USD per token (OpenRouter's `pricing`): decimal
        strings, read exactly; ValueError when either is not a non-negative number."""
        input_price, output_price = _usd(prompt) * MILLION, _usd(completion) * MILLION
        return cls(input_price, output_price)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """USD for these tokens, exactly."""
        total = prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        return total / MILLION

    def dearest(self, other: Price) -> Price:
        """The higher of both prices, input and output each (a worst case over routes)."""
        return Price(
            max(self.input_per_million, other.input_per_million),
            max(self.output_per_million, other.output_per_million),
        )


def _usd(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"not a price: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a price: {text!r}")
    return value


def usd_from_reported(value: float) -> Decimal:
    """A cost an upstream reported as a JSON number, read as it was written (`repr`), so
    0.0001 stays 0.0001 and not its binary neighbour."""
    return Decimal(repr(value))


def to_micros(usd: Decimal) -> int:
    """`usd` in whole micro-dollars, rounded up."""
    return int((usd * MICROS_PER_USD).to_integral_value(rounding=ROUND_CEILING))


def usd_of_micros(micros: int) -> Decimal:
    """Whole micro-dollars in USD."""
    return Decimal(micros) / MICROS_PER_USD
