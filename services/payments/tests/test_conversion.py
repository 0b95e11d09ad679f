"""Conversion and rounding (pos_payments.conversion): worked examples a cashier could
check by hand, and properties (hypothesis) that converting and giving change never
creates or loses a minor unit beyond the documented rounding."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_payments.conversion import (
    amount_due_in,
    convert,
    cross_rate,
    exact_conversion,
    foreign_cash,
    inverse_rate,
    parse_rate,
    round_fraction,
    round_to_cash,
)
from pos_platform.conversion import Rounding
from pos_platform.currencies import currencies, currency, currency_problem

# --- the ISO 4217 table ---------------------------------------------------------------------


def test_minor_units_and_cash_units_come_from_iso_4217_and_cldr() -> None:
    assert [currency(c).minor_units for c in ("JPY", "EUR", "KWD", "CLP", "BHD", "USD")] == [0, 2, 3, 0, 3, 2]
    assert currency("CHF").cash_unit_minor == 5  # 0.05 CHF
    assert currency("SEK").cash_unit_minor == 100  # whole kronor in cash
    assert currency("DKK").cash_unit_minor == 50
    assert currency("EUR").cash_unit_minor == 1
    assert currency("EUR").name == "Euro"


def test_codes_that_are_not_currencies_are_named_as_such() -> None:
    assert currency_problem("EUR") is None
    assert "not an ISO 4217 currency code" in (currency_problem("EUX") or "")
    assert "three capital letters" in (currency_problem("eur") or "")
    assert "Gold" in (currency_problem("XAU") or "")
    assert "fund" in (currency_problem("CHE") or "")
    assert "XAU" not in currencies() and "CHE" not in currencies() and "XXX" not in currencies()


# --- worked examples --------------------------------------------------------------------------


def test_examples_a_person_can_check() -> None:
    # 10.00 EUR at 162.97 JPY/EUR = 1,629.7 JPY -> 1,630 JPY (no minor unit in yen)
    assert convert(1000, "EUR", "JPY", Decimal("162.97")) == 1630
    # 1,630 JPY back at 1/162.97: 10.0018... EUR -> 10.00 EUR
    assert convert(1630, "JPY", "EUR", inverse_rate(Decimal("162.97"))) == 1000
    # 25.00 EUR at 0.3312 KWD/EUR = 8.280 KWD (three decimals)
    assert convert(2500, "EUR", "KWD", Decimal("0.3312")) == 8280
    # ties go to even: 0.125 -> 0.12, 0.135 -> 0.14
    assert convert(25, "EUR", "USD", Decimal("0.5")) == 12  # 0.125
    assert convert(27, "EUR", "USD", Decimal("0.5")) == 14  # 0.135
    assert convert(25, "EUR", "USD", Decimal("0.5"), "half_up") == 13
    assert convert(25, "EUR", "USD", Decimal("0.5"), "down") == 12
    assert convert(25, "EUR", "USD", Decimal("0.5"), "up") == 13


def test_amount_due_in_swiss_francs_is_rounded_to_five_rappen() -> None:
    # 10.00 EUR at 0.9312 CHF/EUR = 9.312 CHF -> 9.30 CHF (nearest 0.05)
    assert amount_due_in(1000, "EUR", "CHF", Decimal("0.9312")) == 930
    # 10.00 EUR at 0.9338 = 9.338 -> 9.35
    assert amount_due_in(1000, "EUR", "CHF", Decimal("0.9338")) == 935
    # 10.00 EUR at 11.215 SEK/EUR = 112.15 SEK -> 112 SEK in cash
    assert amount_due_in(1000, "EUR", "SEK", Decimal("11.215")) == 11200


def test_change_for_foreign_cash_is_given_in_the_outlets_currency() -> None:
    # 12.50 EUR due, paid with a 20 CHF note at 0.9312 CHF/EUR:
    # due 11.64 CHF -> 11.65 CHF; 8.35 CHF over = 8.9669... EUR -> 8.97 EUR change
    paid = foreign_cash(1250, "EUR", "CHF", Decimal("0.9312"), 2000)
    assert (paid.due_foreign_minor, paid.change_minor) == (1165, 897)
    # handing over exactly the amount due leaves no change
    assert foreign_cash(1250, "EUR", "CHF", Decimal("0.9312"), 1165).change_minor == 0
    with pytest.raises(ValueError, match="less than the 1165 due"):
        foreign_cash(1250, "EUR", "CHF", Decimal("0.9312"), 1160)


def test_cross_rates_are_derived_from_the_euro_rates_with_twelve_digits() -> None:
    # GBP -> USD = (USD per EUR) / (GBP per EUR) = 1.0812 / 0.8513
    assert cross_rate(Decimal("0.8513"), Decimal("1.0812")) == Decimal("1.27005755903")
    assert len(cross_rate(Decimal("0.8513"), Decimal("1.0812")).as_tuple().digits) == 12


@pytest.mark.parametrize("text", ["", "abc", "1e3", "NaN", "Infinity", "-1.2", "0", "0.000", "1.2.3", ".5", "5.", " ", "1,08"])
def test_a_rate_is_a_positive_decimal_string_or_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


def test_a_rate_keeps_every_digit_it_was_given() -> None:
    assert parse_rate("1.0812") == Decimal("1.0812")
    assert parse_rate("18890.55") == Decimal("18890.55")
    with pytest.raises(ValueError, match="decimal string"):
        parse_rate(1.0812)  # type: ignore[arg-type]  # a float on purpose: it must be refused


# --- properties -------------------------------------------------------------------------------

CODES = ["EUR", "USD", "JPY", "KWD", "CHF", "SEK", "GBP", "BHD", "CLP", "DKK", "IDR", "CAD"]
amounts = st.integers(min_value=0, max_value=10**10)
codes = st.sampled_from(CODES)
rates = st.decimals(
    min_value=Decimal("0.0001"), max_value=Decimal("50000"), places=6, allow_nan=False, allow_infinity=False
).filter(lambda d: d > 0)
modes = st.sampled_from(["half_even", "half_up", "down", "up", "floor", "ceiling"])


@given(amounts, codes, codes, rates, modes)
def test_conversion_is_the_exact_value_rounded_once(amount: int, a: str, b: str, rate: Decimal, mode: Rounding) -> None:
    exact = exact_conversion(amount, a, b, rate)
    got = convert(amount, a, b, rate, mode)
    error = Fraction(got) - exact
    if mode in ("half_even", "half_up"):
        assert abs(error) <= Fraction(1, 2)
    else:
        assert abs(error) < 1
        if mode in ("down", "floor"):
            assert error <= 0  # amounts are not negative: down == floor
        else:
            assert error >= 0


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6), modes)
def test_rounding_an_exact_value_moves_it_by_less_than_one(numerator: int, denominator: int, mode: Rounding) -> None:
    value = Fraction(numerator, denominator)
    got = round_fraction(value, mode)
    assert abs(got - value) < 1
    if value.denominator == 1:
        assert got == value


@given(st.integers(min_value=0, max_value=10**10), codes, modes)
def test_cash_rounding_lands_on_the_cash_unit_within_one_unit(amount: int, code: str, mode: Rounding) -> None:
    unit = currency(code).cash_unit_minor
    got = round_to_cash(amount, code, mode)
    assert got % unit == 0
    assert abs(got - amount) < unit
    if mode in ("half_even", "half_up"):
        assert 2 * abs(got - amount) <= unit


@settings(max_examples=300)
@given(
    st.integers(min_value=1, max_value=10**9),
    codes,
    codes,
    rates,
    st.integers(min_value=0, max_value=10**8),
)
def test_foreign_cash_and_change_lose_or_create_nothing_beyond_the_two_roundings(
    due: int, local: str, foreign: str, rate: Decimal, extra: int
) -> None:
    """The customer owes `due` (local minor units) and hands over the amount due in the
    foreign currency plus `extra` foreign minor units. Measured in local money, what the
    shop keeps (tendered value - change) differs from `due` by at most the two documented
    roundings: half a foreign cash unit (the amount due) and half a local cash unit (the
    change); the change is never negative and is zero when nothing extra was handed over."""
    due_foreign = amount_due_in(due, local, foreign, rate)
    tendered = due_foreign + extra
    paid = foreign_cash(due, local, foreign, rate, tendered)
    assert paid.due_foreign_minor == due_foreign
    assert paid.change_minor >= 0
    assert paid.change_minor % currency(local).cash_unit_minor == 0
    if extra == 0:
        assert paid.change_minor == 0
    value_local = exact_conversion(tendered, foreign, local, 1 / Fraction(rate))
    kept = value_local - paid.change_minor
    half_foreign_cash_in_local = exact_conversion(currency(foreign).cash_unit_minor, foreign, local, 1 / Fraction(rate)) / 2
    half_local_cash = Fraction(currency(local).cash_unit_minor, 2)
    assert abs(kept - due) <= half_foreign_cash_in_local + half_local_cash


@given(st.integers(min_value=0, max_value=10**9), codes, codes, rates)
def test_there_and_back_returns_the_amount_within_the_rounding(amount: int, a: str, b: str, rate: Decimal) -> None:
    """A to B and back at the inverse rate: off by no more than the rounding of each
    leg, the first leg's half minor unit of B carried back to A."""
    there = convert(amount, a, b, rate)
    back_rate = inverse_rate(rate)
    back = convert(there, b, a, back_rate)
    carried = exact_conversion(1, b, a, back_rate) / 2  # half a minor unit of B, in A
    inverse_error = abs(Fraction(back_rate) * Fraction(rate) - 1) * Fraction(amount)  # the 12-digit inverse
    assert abs(Fraction(back - amount)) <= Fraction(1, 2) + carried + inverse_error + Fraction(1, 10**6)
