"""Converting money between currencies. Plain Python on integers, no I/O.

Money is integer minor units of its currency (ISO 4217 exponents: JPY 0, EUR 2, KWD 3);
a rate is a `decimal.Decimal` read from a decimal string ("1.0812"), never a float. All
arithmetic is exact (fractions); the only inexact step is the final rounding, and each
function takes its rounding mode explicitly. The policy the till uses is named below
(docs/currency-tax.md, "Conversion and rounding"):

- a converted amount (a rate applied): to the nearest minor unit, ties to even;
- an amount due in a foreign currency: to the nearest *cash* unit of that currency
  (CHF 0.05, SEK 1), ties to even;
- change: given in the outlet's currency, for what was handed over beyond the amount
  due, to the nearest cash unit of the outlet's currency, ties to even. It is never
  negative: handing over the amount due settles the sale exactly;
- a part payment (less than the amount due handed over, the rest paid by another
  tender): credited at its value in the outlet's currency rounded *down* to a minor
  unit, so the shop never credits more than it holds and the rest is always > 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

from pos_platform.currencies import currency

Rounding = Literal["half_even", "half_up", "down", "up", "floor", "ceiling"]

# The till's policy (see the module docstring).
CONVERSION_ROUNDING: Rounding = "half_even"
AMOUNT_DUE_ROUNDING: Rounding = "half_even"
CHANGE_ROUNDING: Rounding = "half_even"
PART_CREDIT_ROUNDING: Rounding = "floor"

# A cross rate (two feed rates against the euro divided) keeps this many significant
# digits, rounded half-even: far more than the feed's own five or six, so the rounding
# moves an amount below 10^10 minor units by less than a minor unit.
CROSS_RATE_DIGITS = 12


def parse_rate(text: str) -> Decimal:
    """A rate from its decimal string: digits, an optional point and digits, greater
    than zero. ValueError (a sentence) for anything else: floats' exponents, NaN,
    infinities, signs, empty text."""
    if not isinstance(text, str):
        raise ValueError(f'a rate is a decimal string such as "1.0812", not {type(text).__name__}')
    body = text.strip()
    if (
        not body
        or not all(c.isdigit() or c == "." for c in body)
        or body.count(".") > 1
        or body.startswith(".")
        or body.endswith(".")
    ):
        raise ValueError(f'rate {text!r} is not a decimal number such as "1.0812"')
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise ValueError(f'rate {text!r} is not a decimal number such as "1.0812"') from None
    if value <= 0:
        raise ValueError(f"rate {text!r} must be greater than zero")
    return value


def rate_text(rate: Decimal) -> str:
    """The decimal string a rate is stored and shown as: every digit it has, as written
    ("1.0700" stays "1.0700"), never an exponent."""
    return format(rate, "f")


def cross_rate(base_per_eur: Decimal, quote_per_eur: Decimal) -> Decimal:
    """Units of quote per unit of base, from two rates against the euro (the ECB's
    base): quote_per_eur / base_per_eur, to CROSS_RATE_DIGITS significant digits, half-even."""
    return Context(prec=CROSS_RATE_DIGITS, rounding=ROUND_HALF_EVEN).divide(quote_per_eur, base_per_eur)


def inverse_rate(rate: Decimal) -> Decimal:
    """Units of base per unit of quote: 1 / rate, to CROSS_RATE_DIGITS significant digits."""
    return Context(prec=CROSS_RATE_DIGITS, rounding=ROUND_HALF_EVEN).divide(Decimal(1), rate)


def round_fraction(value: Fraction, rounding: Rounding) -> int:
    """An exact rational to an integer by `rounding`: half_even and half_up (ties away
    from zero) to the nearest; down (toward zero), up (away from zero), floor, ceiling."""
    floor = value.numerator // value.denominator
    remainder = value - floor  # 0 <= remainder < 1
    if remainder == 0:
        return floor
    if rounding == "floor":
        return floor
    if rounding == "ceiling":
        return floor + 1
    if rounding == "down":
        return floor if value > 0 else floor + 1
    if rounding == "up":
        return floor + 1 if value > 0 else floor
    half = Fraction(1, 2)
    if remainder < half:
        return floor
    if remainder > half:
        return floor + 1
    if rounding == "half_even":
        return floor if floor % 2 == 0 else floor + 1
    if rounding == "half_up":
        return floor + 1 if value > 0 else floor
    raise ValueError(f"unknown rounding mode {rounding!r}")


def exact_conversion(amount_minor: int, source: str, target: str, rate: Decimal | Fraction) -> Fraction:
    """`amount_minor` of `source` in minor units of `target` at `rate` (units of target
    per unit of source), exactly."""
    src, dst = currency(source), currency(target)
    return Fraction(amount_minor) * Fraction(rate) * dst.scale / src.scale


def convert(amount_minor: int, source: str, target: str, rate: Decimal, rounding: Rounding = CONVERSION_ROUNDING) -> int:
    """`amount_minor` of `source` in minor units of `target` at `rate` (units of target
    per unit of source), rounded to a minor unit by `rounding`.

    convert(1000, "EUR", "JPY", Decimal("162.97")) == 1630   (10.00 EUR -> 1,629.7 -> 1,630 JPY)
    """
    return round_fraction(exact_conversion(amount_minor, source, target, rate), rounding)


def round_to_cash(amount_minor: int | Fraction, code: str, rounding: Rounding) -> int:
    """An amount (minor units, possibly fractional) to a multiple of the currency's
    smallest cash unit (CHF 5 = 0.05, SEK 100 = 1 krona; 1 for most currencies)."""
    unit = currency(code).cash_unit_minor
    return round_fraction(Fraction(amount_minor) / unit, rounding) * unit


@dataclass(frozen=True)
class ForeignCash:
    """A cash tender in a foreign currency for an amount due in the outlet's currency."""

    due_minor: int  # what the sale asks, outlet currency
    due_foreign_minor: int  # the same at the rate, rounded to the foreign cash unit
    tendered_foreign_minor: int  # what the customer handed over, foreign currency
    change_minor: int  # given back in the outlet's currency

    @property
    def settled(self) -> bool:
        return self.tendered_foreign_minor >= self.due_foreign_minor


def amount_due_in(due_minor: int, local: str, foreign: str, rate: Decimal, rounding: Rounding = AMOUNT_DUE_ROUNDING) -> int:
    """What a customer paying in `foreign` owes for `due_minor` of `local`, at `rate`
    (units of foreign per unit of local), rounded to the foreign currency's cash unit."""
    return round_to_cash(exact_conversion(due_minor, local, foreign, rate), foreign, rounding)


def foreign_cash(
    due_minor: int,
    local: str,
    foreign: str,
    rate: Decimal,
    tendered_foreign_minor: int,
    *,
    due_rounding: Rounding = AMOUNT_DUE_ROUNDING,
    change_rounding: Rounding = CHANGE_ROUNDING,
) -> ForeignCash:
    """Settle a foreign-cash tender: the amount due in `foreign`, and the change in
    `local` for what was handed over beyond it (converted back at the same rate,
    rounded to the outlet currency's cash unit). ValueError when the cash handed over is
    less than the amount due (a sentence naming both amounts)."""
    if due_minor < 0 or tendered_foreign_minor < 0:
        raise ValueError("amounts are never negative")
    due_foreign = amount_due_in(due_minor, local, foreign, rate, due_rounding)
    if tendered_foreign_minor < due_foreign:
        raise ValueError(
            f"{tendered_foreign_minor} {foreign} minor units handed over is less than the {due_foreign} due "
            f"({due_minor} {local} minor units at {rate_text(rate)})"
        )
    excess_local = exact_conversion(tendered_foreign_minor - due_foreign, foreign, local, 1 / Fraction(rate))
    change = round_to_cash(excess_local, local, change_rounding)
    return ForeignCash(
        due_minor=due_minor, due_foreign_minor=due_foreign, tendered_foreign_minor=tendered_foreign_minor, change_minor=change
    )


@dataclass(frozen=True)
class ForeignPart:
    """A foreign-cash tender applied to what is left to pay (outlet currency): either it
    settles it (`settled`, with change in the outlet's currency) or it pays a part of it
    (`credit_minor` < remaining; the rest is for another tender)."""

    remaining_minor: int  # what was left to pay before this tender, outlet currency
    due_foreign_minor: int  # the remaining at the rate, rounded to the foreign cash unit
    tendered_foreign_minor: int
    credit_minor: int  # what this tender pays of the remaining, outlet currency
    change_minor: int  # given back in the outlet's currency (0 for a part payment)

    @property
    def settled(self) -> bool:
        return self.credit_minor == self.remaining_minor


def foreign_part(remaining_minor: int, local: str, foreign: str, rate: Decimal, tendered_foreign_minor: int) -> ForeignPart:
    """Apply `tendered_foreign_minor` of `foreign` (at `rate`, units of foreign per unit
    of local) to `remaining_minor` of `local`. At least the amount due in `foreign`
    (rounded to its cash unit): settles it, change as `foreign_cash`. Less: a part
    payment credited at its exact value rounded down to a minor unit of `local`."""
    if remaining_minor <= 0:
        raise ValueError("nothing is left to pay for this foreign cash")
    if tendered_foreign_minor <= 0:
        raise ValueError("foreign cash handed over must be more than zero")
    due_foreign = amount_due_in(remaining_minor, local, foreign, rate)
    if tendered_foreign_minor >= due_foreign:
        paid = foreign_cash(remaining_minor, local, foreign, rate, tendered_foreign_minor)
        return ForeignPart(remaining_minor, due_foreign, tendered_foreign_minor, remaining_minor, paid.change_minor)
    value = exact_conversion(tendered_foreign_minor, foreign, local, 1 / Fraction(rate))
    credit = min(round_fraction(value, PART_CREDIT_ROUNDING), remaining_minor - 1)
    return ForeignPart(remaining_minor, due_foreign, tendered_foreign_minor, max(credit, 0), 0)
