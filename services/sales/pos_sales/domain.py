"""Pricing, tax and tenders. Plain Python on integers: no I/O, no float.

Rounding is half-up per line (the usual retail rule); tax rates are in basis points.
"""

from __future__ import annotations

from dataclasses import dataclass


class CheckoutError(ValueError):
    """The cart or its tenders cannot be accepted; the message tells the cashier why."""


def div_round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("div_round_half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class CatalogPrice:
    product_id: str
    sku: str
    name: str
    category_id: str | None
    price_minor: int
    currency: str
    tax_class: str


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    product_id: str
    sku: str
    name: str
    category_id: str | None
    qty: int
    unit_price_minor: int
    tax_rate_bp: int
    tax_minor: int
    total_minor: int  # what the customer pays for this line, tax included

    @property
    def net_minor(self) -> int:
        return self.total_minor - self.tax_minor


@dataclass(frozen=True)
class TaxBand:
    rate_bp: int
    net_minor: int
    tax_minor: int


@dataclass(frozen=True)
class PricedCart:
    currency: str
    lines: tuple[PricedLine, ...]

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def tax_minor(self) -> int:
        return sum(line.tax_minor for line in self.lines)

    @property
    def subtotal_minor(self) -> int:
        """Total before tax."""
        return self.total_minor - self.tax_minor

    @property
    def items(self) -> int:
        return sum(line.qty for line in self.lines)

    def tax_bands(self) -> list[TaxBand]:
        bands: dict[int, tuple[int, int]] = {}
        for line in self.lines:
            net, tax = bands.get(line.tax_rate_bp, (0, 0))
            bands[line.tax_rate_bp] = (net + line.net_minor, tax + line.tax_minor)
        return [TaxBand(rate, net, tax) for rate, (net, tax) in sorted(bands.items())]


def price_line(line_no: int, price: CatalogPrice, qty: int, rate_bp: int, *, prices_include_tax: bool) -> PricedLine:
    if qty <= 0:
        raise CheckoutError(f"line {line_no}: quantity must be at least 1")
    gross = price.price_minor * qty
    if prices_include_tax:
        tax = div_round_half_up(gross * rate_bp, 10_000 + rate_bp)
        total = gross
    else:
        tax = div_round_half_up(gross * rate_bp, 10_000)
        total = gross + tax
    return PricedLine(
        line_no=line_no,
        product_id=price.product_id,
        sku=price.sku,
        name=price.name,
        category_id=price.category_id,
        qty=qty,
        unit_price_minor=price.price_minor,
        tax_rate_bp=rate_bp,
        tax_minor=tax,
        total_minor=total,
    )


def price_cart(
    requested: list[tuple[str, int]],
    prices: dict[str, CatalogPrice],
    tax_rates_bp: dict[str, int],
    *,
    prices_include_tax: bool,
) -> PricedCart:
    """Price each requested (product_id, qty) from the replica's prices."""
    if not requested:
        raise CheckoutError("the cart is empty")
    lines = []
    currencies = set()
    for line_no, (product_id, qty) in enumerate(requested, start=1):
        price = prices.get(product_id)
        if price is None:
            raise CheckoutError(f"line {line_no}: product {product_id} is not for sale (unknown or archived)")
        rate = tax_rates_bp.get(price.tax_class)
        if rate is None:
            raise CheckoutError(f"line {line_no}: no tax rate configured for tax class {price.tax_class!r}")
        currencies.add(price.currency)
        lines.append(price_line(line_no, price, qty, rate, prices_include_tax=prices_include_tax))
    if len(currencies) > 1:
        raise CheckoutError(f"the cart mixes currencies: {', '.join(sorted(currencies))}")
    return PricedCart(currency=currencies.pop(), lines=tuple(lines))


@dataclass(frozen=True)
class TenderIn:
    kind: str
    amount_minor: int  # for cash: what the customer handed over


@dataclass(frozen=True)
class AppliedTender:
    kind: str
    amount_minor: int  # what this tender pays of the total
    tendered_minor: int  # what was handed over (cash) or charged (card)


@dataclass(frozen=True)
class Settlement:
    tenders: tuple[AppliedTender, ...]
    tendered_minor: int
    change_minor: int


def settle(total_minor: int, tenders: list[TenderIn]) -> Settlement:
    """Apply tenders to a total. Non-cash tenders pay exactly what they say and may not
    exceed what is due; cash pays the rest and only cash gives change."""
    if not tenders:
        raise CheckoutError("no tender given: take cash or card")
    for tender in tenders:
        if tender.amount_minor <= 0:
            raise CheckoutError(f"{tender.kind} tender must be more than zero")
    non_cash = [t for t in tenders if t.kind != "cash"]
    cash = [t for t in tenders if t.kind == "cash"]
    non_cash_total = sum(t.amount_minor for t in non_cash)
    if non_cash_total > total_minor:
        raise CheckoutError(f"card tenders ({non_cash_total}) exceed the total due ({total_minor})")
    due_in_cash = total_minor - non_cash_total
    cash_given = sum(t.amount_minor for t in cash)
    if cash_given < due_in_cash:
        raise CheckoutError(f"tendered {non_cash_total + cash_given} is less than the total due {total_minor}")
    if not cash and due_in_cash:
        raise CheckoutError(f"tenders ({non_cash_total}) do not cover the total due ({total_minor})")
    applied = [AppliedTender(t.kind, t.amount_minor, t.amount_minor) for t in non_cash]
    if cash:
        applied.append(AppliedTender("cash", due_in_cash, cash_given))
    return Settlement(tenders=tuple(applied), tendered_minor=non_cash_total + cash_given, change_minor=cash_given - due_in_cash)
