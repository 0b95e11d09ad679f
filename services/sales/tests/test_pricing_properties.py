"""Property tests over random carts, discounts, outlet policies and tenders: totals always
add up, nothing is ever negative, no float anywhere, refunds never give back more than
was paid."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pos_sales.domain import (
    ROUNDING_MODES,
    CartLine,
    CatalogPrice,
    CheckoutError,
    Discount,
    PricingPolicy,
    TenderIn,
    allocate,
    div_round,
    price_cart,
    refund_of_line,
    round_to_increment,
    settle,
    split_refund,
)

TAX_CLASSES = {"standard": 2000, "reduced": 550, "zero": 0, "odd": 1725}

prices = st.builds(
    lambda i, price, tax_class: CatalogPrice(f"p{i}", f"SKU{i}", f"Product {i}", None, price, "EUR", tax_class),
    st.integers(0, 50),
    st.integers(0, 10**7),
    st.sampled_from(sorted(TAX_CLASSES)),
)
discounts = st.one_of(
    st.none(),
    st.builds(Discount, st.just("percent"), st.integers(0, 10_000)),
    st.builds(Discount, st.just("amount"), st.integers(0, 10**8)),
)
policies = st.builds(
    PricingPolicy,
    tax_rates_bp=st.just(TAX_CLASSES),
    prices_include_tax=st.booleans(),
    rounding_mode=st.sampled_from(ROUNDING_MODES),
    cash_rounding_minor=st.sampled_from([0, 1, 5, 10, 50]),
)


@st.composite
def carts(draw: Any) -> tuple[list[CartLine], dict[str, CatalogPrice], Discount | None, PricingPolicy]:
    catalog = {p.product_id: p for p in draw(st.lists(prices, min_size=1, max_size=8, unique_by=lambda p: p.product_id))}
    lines = draw(
        st.lists(st.builds(CartLine, st.sampled_from(sorted(catalog)), st.integers(1, 500), discounts), min_size=1, max_size=12)
    )
    return lines, catalog, draw(discounts), draw(policies)


def all_ints(*values: Any) -> bool:
    return all(type(v) is int for v in values)


@settings(max_examples=400, deadline=None)
@given(carts())
def test_totals_add_up_never_negative_no_float(cart_in: Any) -> None:
    lines, catalog, cart_discount, policy = cart_in
    cart = price_cart(lines, catalog, policy=policy, cart_discount=cart_discount)
    for line in cart.lines:
        assert all_ints(line.gross_minor, line.line_discount_minor, line.cart_discount_minor, line.tax_minor, line.total_minor)
        assert line.gross_minor == line.unit_price_minor * line.qty
        assert 0 <= line.discount_minor <= line.gross_minor
        assert line.tax_minor >= 0 and line.net_minor >= 0
        if policy.prices_include_tax:
            assert line.total_minor == line.gross_minor - line.discount_minor
            assert line.tax_minor <= line.total_minor
        else:
            assert line.total_minor == line.gross_minor - line.discount_minor + line.tax_minor
    assert cart.total_minor == sum(line.total_minor for line in cart.lines) >= 0
    assert cart.subtotal_minor + cart.tax_minor == cart.total_minor
    assert cart.discount_minor == sum(line.discount_minor for line in cart.lines) <= cart.gross_minor
    bands = cart.tax_bands()
    assert sum(b.tax_minor for b in bands) == cart.tax_minor
    assert sum(b.net_minor for b in bands) == cart.subtotal_minor
    if cart_discount is not None:
        base = cart.gross_minor - sum(line.line_discount_minor for line in cart.lines)
        expected = cart_discount.amount_of(base, policy.rounding_mode)
        assert sum(line.cart_discount_minor for line in cart.lines) == expected


@settings(max_examples=400, deadline=None)
@given(
    total=st.integers(0, 10**9),
    card_parts=st.lists(st.integers(1, 10**8), max_size=3),
    cash_given=st.one_of(st.none(), st.integers(1, 2 * 10**9)),
    increment=st.sampled_from([0, 1, 5, 10, 25, 100]),
)
def test_tenders_pay_exactly_what_is_due(total: int, card_parts: list[int], cash_given: int | None, increment: int) -> None:
    tenders = [TenderIn("card", amount) for amount in card_parts] + ([TenderIn("cash", cash_given)] if cash_given else [])
    try:
        result = settle(total, tenders, cash_rounding_minor=increment)
    except CheckoutError:
        return
    assert all_ints(result.tendered_minor, result.change_minor, result.rounding_minor, result.due_minor)
    assert sum(t.amount_minor for t in result.tenders) == result.due_minor == total + result.rounding_minor
    assert result.change_minor >= 0 and result.due_minor >= 0
    assert abs(result.rounding_minor) * 2 <= max(increment, 1)
    if not cash_given:
        assert result.rounding_minor == 0 and result.change_minor == 0
    assert result.tendered_minor - result.change_minor == result.due_minor


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10**9), st.integers(0, 10**7), st.integers(1, 200), st.data())
def test_refunds_of_a_line_in_any_pieces_give_back_exactly_the_line(total: int, tax: int, qty: int, data: Any) -> None:
    tax = min(tax, total)
    done, back_total, back_tax = 0, 0, 0
    while done < qty:
        piece = data.draw(st.integers(1, qty - done))
        part = refund_of_line(total, tax, qty, done, piece)
        assert part.total_minor >= 0 and part.tax_minor >= 0 and all_ints(part.total_minor, part.tax_minor)
        back_total, back_tax, done = back_total + part.total_minor, back_tax + part.tax_minor, done + piece
        assert back_total <= total and back_tax <= tax
    assert (back_total, back_tax) == (total, tax)
    with pytest.raises(CheckoutError):
        refund_of_line(total, tax, qty, qty, 1)


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_allocation_is_exact_and_within_weights(amount: int, weights: list[int]) -> None:
    amount = min(amount, sum(weights))
    parts = allocate(amount, weights)
    assert sum(parts) == amount
    assert all(0 <= p <= w for p, w in zip(parts, weights, strict=True))


@given(st.integers(0, 10**12), st.integers(1, 10**6), st.sampled_from(ROUNDING_MODES))
def test_rounding_is_within_one_unit(numerator: int, denominator: int, mode: str) -> None:
    q = div_round(numerator, denominator, mode)
    assert type(q) is int
    assert q * denominator - denominator < numerator < q * denominator + denominator or numerator == q * denominator
    if mode == "down":
        assert q == numerator // denominator
    if mode.startswith("half"):
        assert abs(2 * (numerator - q * denominator)) <= denominator


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.sampled_from(["original", "cash"]),
    st.sampled_from([0, 5, 10]),
)
def test_refund_money_never_exceeds_what_the_payment_holds(
    amount: int, card_left: int, extra: int, destination: str, increment: int
) -> None:
    holds = amount + extra  # the payment always holds at least the goods being refunded
    card_left = min(card_left, holds)
    split = split_refund(
        amount,
        destination=destination,
        card_refundable_minor=card_left,
        money_refundable_minor=holds,
        cash_rounding_minor=increment,
    )
    money = sum(a for _, a in split.tenders)
    assert money <= holds and all(a > 0 for _, a in split.tenders)
    assert money == amount + split.rounding_minor
    card = sum(a for k, a in split.tenders if k == "card")
    assert card <= card_left and (destination == "original" or card == 0)


def test_examples_of_rounding_modes() -> None:
    assert [div_round(25, 10, m) for m in ("half_up", "half_even", "down", "up")] == [3, 2, 2, 3]
    assert [div_round(35, 10, m) for m in ("half_up", "half_even", "down", "up")] == [4, 4, 3, 4]
    assert [round_to_increment(v, 5) for v in (1002, 1003, 1000, 7)] == [1000, 1005, 1000, 5]
    with pytest.raises(ValueError):
        div_round(1, 2, "bankers")
