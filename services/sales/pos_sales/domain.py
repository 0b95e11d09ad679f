"""Pricing, discounts, tax, tenders and refund arithmetic. Plain Python on integers:
no I/O, no float anywhere.

Money is integer minor units; tax rates and percentage discounts are basis points
(1 % = 100 bp). Every division says how it rounds (`div_round`); tax is computed per
line on the line's amount after discounts, half-up by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pos_platform.conversion import foreign_part
from pos_platform.currencies import currency

RoundingMode = Literal["half_up", "half_even", "down", "up"]
ROUNDING_MODES: tuple[str, ...] = ("half_up", "half_even", "down", "up")


class CheckoutError(ValueError):
    """The cart or its tenders cannot be accepted; the message tells the cashier why."""


def div_round(numerator: int, denominator: int, mode: str = "half_up") -> int:
    """numerator / denominator for a non-negative numerator and a positive denominator,
    rounded as `mode` says."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("div_round takes a non-negative numerator and a positive denominator")
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    quotient, remainder = divmod(numerator, denominator)
    if remainder == 0 or mode == "down":
        return quotient
    if mode == "up":
        return quotient + 1
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and (mode == "half_up" or quotient % 2 == 1)):
        return quotient + 1
    return quotient


def div_round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, for non-negative integers."""
    return div_round(numerator, denominator, "half_up")


def round_to_increment(amount: int, increment: int) -> int:
    """Cash rounding: `amount` to the nearest multiple of `increment` (halves go up)."""
    if increment <= 1:
        return amount
    return div_round(amount, increment, "half_up") * increment


@dataclass(frozen=True)
class Discount:
    kind: Literal["percent", "amount"]
    value: int  # percent: basis points (1000 = 10 %); amount: minor units
    reason: str = ""

    def amount_of(self, base_minor: int, mode: str) -> int:
        """How much this discount takes off `base_minor` (never more than all of it)."""
        if self.value < 0:
            raise CheckoutError("a discount cannot be negative")
        if self.kind == "percent":
            if self.value > 10_000:
                raise CheckoutError("a percentage discount cannot exceed 100 %")
            return div_round(base_minor * self.value, 10_000, mode)
        return min(self.value, base_minor)


@dataclass(frozen=True)
class PricingPolicy:
    """How an outlet prices: its tax rates per tax class, whether shelf prices include
    tax, how tax rounds, cash rounding, and when a discount needs a manager."""

    tax_rates_bp: dict[str, int]
    prices_include_tax: bool = True
    rounding_mode: str = "half_up"
    cash_rounding_minor: int = 0  # 5: cash totals to the nearest 0.05; 0 or 1: none
    discount_approval_bp: int = 2000  # a discount above 20 % of what it applies to needs a manager


@dataclass(frozen=True)
class CatalogPrice:
    product_id: str
    sku: str
    name: str
    category_id: str | None
    price_minor: int
    currency: str
    tax_class: str
    # The product's cost from the replica (None: not known): recorded with the sale line
    # for the reports, never priced with nor shown.
    cost_minor: int | None = None


@dataclass(frozen=True)
class CartLine:
    product_id: str
    qty: int
    discount: Discount | None = None


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
    total_minor: int  # what the customer pays for this line, tax included, after discounts
    gross_minor: int = 0  # unit price x qty, before discounts
    line_discount_minor: int = 0
    cart_discount_minor: int = 0

    @property
    def discount_minor(self) -> int:
        return self.line_discount_minor + self.cart_discount_minor

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
    cart_discount: Discount | None = None
    prices_include_tax: bool = True

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
    def gross_minor(self) -> int:
        """Shelf prices x quantities, before discounts."""
        return sum(line.gross_minor for line in self.lines)

    @property
    def discount_minor(self) -> int:
        return sum(line.discount_minor for line in self.lines)

    @property
    def items(self) -> int:
        return sum(line.qty for line in self.lines)

    def tax_bands(self) -> list[TaxBand]:
        bands: dict[int, tuple[int, int]] = {}
        for line in self.lines:
            net, tax = bands.get(line.tax_rate_bp, (0, 0))
            bands[line.tax_rate_bp] = (net + line.net_minor, tax + line.tax_minor)
        return [TaxBand(rate, net, tax) for rate, (net, tax) in sorted(bands.items())]


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` over `weights` in proportion (largest remainder, ties to the
    earlier line): the parts add up to `amount` exactly and none exceeds its weight
    when amount <= sum(weights)."""
    total = sum(weights)
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate takes non-negative amounts")
    if total == 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def price_line(line_no: int, price: CatalogPrice, qty: int, rate_bp: int, *, prices_include_tax: bool) -> PricedLine:
    """One line without discounts (kept for callers that price a single line)."""
    return _finish_line(line_no, price, qty, rate_bp, 0, 0, prices_include_tax=prices_include_tax, mode="half_up")


def _finish_line(
    line_no: int,
    price: CatalogPrice,
    qty: int,
    rate_bp: int,
    line_discount: int,
    cart_discount: int,
    *,
    prices_include_tax: bool,
    mode: str,
) -> PricedLine:
    if qty <= 0:
        raise CheckoutError(f"line {line_no}: quantity must be at least 1")
    gross = price.price_minor * qty
    amount = gross - line_discount - cart_discount
    if prices_include_tax:
        tax = div_round(amount * rate_bp, 10_000 + rate_bp, mode)
        total = amount
    else:
        tax = div_round(amount * rate_bp, 10_000, mode)
        total = amount + tax
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
        gross_minor=gross,
        line_discount_minor=line_discount,
        cart_discount_minor=cart_discount,
    )


def require_outlet_currency(requested: Sequence[CartLine], prices: dict[str, CatalogPrice], outlet_currency: str) -> None:
    """A sale is only ever in its outlet's currency: a line whose price (the outlet's
    shelf price, else the product's) is in another is refused, naming the products and
    the fix."""
    wrong: dict[str, CatalogPrice] = {}
    for line in requested:
        price = prices.get(line.product_id)
        if price is not None and price.currency != outlet_currency:
            wrong.setdefault(line.product_id, price)
    if not wrong:
        return
    named = ", ".join(f"{p.sku} ({p.name}, priced in {p.currency})" for p in wrong.values())
    raise CheckoutError(
        f"the outlet sells in {outlet_currency} and {'this product has' if len(wrong) == 1 else 'these products have'} "
        f"no price in {outlet_currency}: {named}; set a shelf price in {outlet_currency} for this outlet "
        "(Back office → Products → outlet price)"
    )


def price_cart(
    requested: Sequence[tuple[str, int]] | Sequence[CartLine],
    prices: dict[str, CatalogPrice],
    tax_rates_bp: dict[str, int] | None = None,
    *,
    prices_include_tax: bool = True,
    policy: PricingPolicy | None = None,
    cart_discount: Discount | None = None,
) -> PricedCart:
    """Price each requested line from the replica's prices, apply line discounts, then
    the cart discount (shared over the lines in proportion to what is left of them),
    then tax per line."""
    if policy is None:
        policy = PricingPolicy(tax_rates_bp=tax_rates_bp or {}, prices_include_tax=prices_include_tax)
    lines_in = [line if isinstance(line, CartLine) else CartLine(line[0], line[1]) for line in requested]
    if not lines_in:
        raise CheckoutError("the cart is empty")
    mode = policy.rounding_mode
    staged: list[tuple[int, CatalogPrice, int, int, int]] = []  # line_no, price, qty, rate, line discount
    currencies = set()
    for line_no, line in enumerate(lines_in, start=1):
        price = prices.get(line.product_id)
        if price is None:
            raise CheckoutError(f"line {line_no}: product {line.product_id} is not for sale (unknown or archived)")
        rate = policy.tax_rates_bp.get(price.tax_class)
        if rate is None:
            raise CheckoutError(f"line {line_no}: no tax rate configured for tax class {price.tax_class!r}")
        if line.qty <= 0:
            raise CheckoutError(f"line {line_no}: quantity must be at least 1")
        currencies.add(price.currency)
        gross = price.price_minor * line.qty
        discount = line.discount.amount_of(gross, mode) if line.discount else 0
        staged.append((line_no, price, line.qty, rate, discount))
    if len(currencies) > 1:
        raise CheckoutError(f"the cart mixes currencies: {', '.join(sorted(currencies))}")
    bases = [price.price_minor * qty - discount for _, price, qty, _, discount in staged]
    cart_amount = cart_discount.amount_of(sum(bases), mode) if cart_discount else 0
    shares = allocate(cart_amount, bases)
    lines = tuple(
        _finish_line(line_no, price, qty, rate, discount, share, prices_include_tax=policy.prices_include_tax, mode=mode)
        for (line_no, price, qty, rate, discount), share in zip(staged, shares, strict=True)
    )
    return PricedCart(
        currency=currencies.pop(), lines=lines, cart_discount=cart_discount, prices_include_tax=policy.prices_include_tax
    )


# --- tax from an outside calculation (ADR 0064) ------------------------------------------


@dataclass(frozen=True)
class JurisdictionTax:
    """One jurisdiction's part of a line's tax, as the tax API answered it."""

    name: str  # "California", "Los Angeles County"
    level: str  # country | state | county | city | district | ...
    code: str  # the provider's id for it ("" if none)
    rate: str  # percent as a decimal string ("6.25"), as the provider wrote it
    taxable_minor: int
    tax_minor: int


@dataclass(frozen=True)
class LineTax:
    """A line's tax from a calculation: the total and its parts per jurisdiction."""

    tax_minor: int
    jurisdictions: tuple[JurisdictionTax, ...] = ()


def percent_to_bp(rate: str) -> int:
    """A percentage as a decimal string ("8.875") in whole basis points, half up (888)."""
    value = Decimal(rate)
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a tax rate: {rate!r}")
    scaled = value * 100
    whole = int(scaled)
    return whole + (1 if scaled - whole >= Decimal("0.5") else 0)


@dataclass(frozen=True)
class ScheduledRate:
    """A tax class's rate from a moment on (ADR 0066): the outlet's local midnight of
    `effective_from`, as a UTC instant (`starts_at`, naive UTC like every stored time)."""

    tax_class: str
    starts_at: datetime
    rate_bp: int


def rates_in_effect(current: dict[str, int], schedule: Sequence[ScheduledRate], at: datetime) -> dict[str, int]:
    """The rate per tax class at `at` (naive UTC): the latest scheduled rate that has
    started by then (`starts_at <= at`), else `current` (the rate with no date). A class
    only in the schedule is not a tax class: rates are scheduled for known classes."""
    rates = dict(current)
    started: dict[str, datetime] = {}
    for entry in schedule:
        if entry.tax_class in rates and entry.starts_at <= at and entry.starts_at >= started.get(entry.tax_class, datetime.min):
            started[entry.tax_class] = entry.starts_at
            rates[entry.tax_class] = entry.rate_bp
    return rates


def bp_to_percent(rate_bp: int) -> str:
    """Basis points as a percentage string with two decimals (2050 -> "20.50")."""
    return f"{rate_bp // 100}.{rate_bp % 100:02d}"


def taxable_amount(line: PricedLine) -> int:
    """What a line is taxed on: its price x quantity less its discounts (tax included
    when shelf prices include it)."""
    return line.gross_minor - line.discount_minor


def apply_line_taxes(cart: PricedCart, taxes: Sequence[LineTax]) -> PricedCart:
    """The cart with each line's tax as a calculation gave it. The amounts after
    discounts stay; with tax-inclusive prices the tax is inside them (the total is
    unchanged), otherwise it is added on top. A line's rate becomes the sum of its
    jurisdictions' rates in whole basis points (the receipt's bands group by it)."""
    if len(taxes) != len(cart.lines):
        raise CheckoutError(f"the tax calculation has {len(taxes)} lines, the cart {len(cart.lines)}")
    lines = []
    for line, tax in zip(cart.lines, taxes, strict=True):
        amount = taxable_amount(line)
        if tax.tax_minor < 0 or (cart.prices_include_tax and tax.tax_minor > amount):
            raise CheckoutError(f"line {line.line_no}: tax {tax.tax_minor} is impossible on {amount}")
        if tax.jurisdictions and sum(j.tax_minor for j in tax.jurisdictions) != tax.tax_minor:
            raise CheckoutError(f"line {line.line_no}: the jurisdictions' tax does not add up to {tax.tax_minor}")
        rate_bp = sum(percent_to_bp(j.rate) for j in tax.jurisdictions) if tax.jurisdictions else line.tax_rate_bp
        total = amount if cart.prices_include_tax else amount + tax.tax_minor
        lines.append(replace(line, tax_minor=tax.tax_minor, total_minor=total, tax_rate_bp=rate_bp))
    return replace(cart, lines=tuple(lines))


def discounts_needing_approval(cart: PricedCart, policy: PricingPolicy) -> list[str]:
    """The discounts above the outlet's threshold, described for the cashier."""
    limit = policy.discount_approval_bp
    found = []
    for line in cart.lines:
        if line.gross_minor and line.line_discount_minor * 10_000 > limit * line.gross_minor:
            found.append(f"line {line.line_no} discount {line.line_discount_minor} of {line.gross_minor}")
    base = cart.gross_minor - sum(line.line_discount_minor for line in cart.lines)
    cart_part = sum(line.cart_discount_minor for line in cart.lines)
    if base and cart_part * 10_000 > limit * base:
        found.append(f"cart discount {cart_part} of {base}")
    return found


# --- tenders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderIn:
    kind: str  # cash | card | foreign_cash
    amount_minor: int  # cash: what the customer handed over; foreign_cash: the same, in `currency`'s minor units
    card_token: str | None = None
    currency: str | None = None  # foreign_cash only
    reader_ref: str | None = None  # card taken on the shop's card reader (ADR 0073)


@dataclass(frozen=True)
class StampedRate:
    """The rate the server chose for a foreign-cash tender (payments' rates): units of
    `foreign` per unit of `local`, as a decimal string, with its source and date."""

    local: str
    foreign: str
    rate: str
    source: str  # ecb | sandbox | manual
    as_of: str  # the feed's reference date, or when the manual rate was set (ISO 8601)


@dataclass(frozen=True)
class AppliedTender:
    kind: str
    amount_minor: int  # what this tender pays of the amount due
    tendered_minor: int  # what was handed over (cash) or charged (card); foreign: its value here (amount + change)
    card_token: str | None = None
    currency: str | None = None  # foreign_cash: the foreign currency
    foreign_minor: int | None = None  # foreign_cash: what was handed over, in the foreign currency
    due_foreign_minor: int | None = None  # foreign_cash: what was left to pay, in the foreign currency (cash unit)
    change_minor: int = 0  # cash and foreign_cash: given back in the outlet's currency
    rate: StampedRate | None = None
    reader_ref: str | None = None  # card taken on the shop's card reader (ADR 0073)


@dataclass(frozen=True)
class Settlement:
    tenders: tuple[AppliedTender, ...]
    tendered_minor: int
    change_minor: int
    rounding_minor: int = 0  # cash rounding: what the amount due moved by (+ or -)
    due_minor: int = field(default=0)  # total + rounding: what the tenders pay


def settle(
    total_minor: int, tenders: Sequence[TenderIn], *, cash_rounding_minor: int = 0, rate: StampedRate | None = None
) -> Settlement:
    """Apply tenders to a total. Card tenders pay exactly what they say and may not
    exceed what is due; then foreign cash (at most one, at `rate`) pays what is left, or
    a part of it (pos_platform.conversion.foreign_part); then cash pays the rest, rounded
    to the outlet's cash increment. Cash and foreign cash give change, in the outlet's
    currency."""
    for tender in tenders:
        if tender.amount_minor <= 0:
            raise CheckoutError(f"{tender.kind} tender must be more than zero")
    if not tenders:
        if total_minor == 0:
            return Settlement(tenders=(), tendered_minor=0, change_minor=0, rounding_minor=0, due_minor=0)
        raise CheckoutError("no tender given: take cash or card")
    non_cash = [t for t in tenders if t.kind not in ("cash", "foreign_cash")]
    cash = [t for t in tenders if t.kind == "cash"]
    foreign = [t for t in tenders if t.kind == "foreign_cash"]
    non_cash_total = sum(t.amount_minor for t in non_cash)
    if non_cash_total > total_minor:
        raise CheckoutError(f"card tenders ({non_cash_total}) exceed the total due ({total_minor})")
    applied = [AppliedTender(t.kind, t.amount_minor, t.amount_minor, t.card_token, reader_ref=t.reader_ref) for t in non_cash]
    remaining = total_minor - non_cash_total
    tendered = non_cash_total
    change = 0
    if foreign:
        part = apply_foreign(foreign, remaining, rate)
        applied.append(part)
        remaining -= part.amount_minor
        tendered += part.tendered_minor
        change += part.change_minor
        if not remaining and cash:
            raise CheckoutError(
                "the foreign cash already pays everything due: take no more cash (change is given in the outlet's currency)"
            )
    due_in_cash = remaining
    rounding = 0
    if cash:
        rounded = round_to_increment(due_in_cash, cash_rounding_minor)
        rounding, due_in_cash = rounded - due_in_cash, rounded
    cash_given = sum(t.amount_minor for t in cash)
    if cash_given < due_in_cash:
        raise CheckoutError(f"tendered {tendered + cash_given} is less than the total due {tendered + due_in_cash}")
    if not cash and due_in_cash:
        raise CheckoutError(f"tenders ({tendered}) do not cover the total due ({total_minor})")
    if cash:
        applied.append(AppliedTender("cash", due_in_cash, cash_given, change_minor=cash_given - due_in_cash))
        change += cash_given - due_in_cash
    return Settlement(
        tenders=tuple(applied),
        tendered_minor=tendered + cash_given,
        change_minor=change,
        rounding_minor=rounding,
        due_minor=total_minor + rounding,
    )


def apply_foreign(foreign: Sequence[TenderIn], remaining: int, rate: StampedRate | None) -> AppliedTender:
    """Foreign cash (at most one tender, at `rate`) against what is left to pay, as a
    checkout settles it; an offline sync checks the till's figures with it too."""
    if len(foreign) > 1:
        raise CheckoutError("one foreign-cash tender per sale: add the notes up into one")
    tender = foreign[0]
    if rate is None or tender.currency != rate.foreign:
        raise CheckoutError(f"no rate was stamped for {tender.currency}")
    if remaining <= 0:
        raise CheckoutError("the card tenders already pay everything due: take no foreign cash")
    unit = currency(rate.foreign).cash_unit_minor
    if tender.amount_minor % unit:
        step = currency(rate.foreign)
        raise CheckoutError(
            f"{rate.foreign} cash comes in steps of {unit / step.scale:.{step.minor_units}f}: "
            f"{tender.amount_minor} minor units cannot have been handed over"
        )
    part = foreign_part(remaining, rate.local, rate.foreign, Decimal(rate.rate), tender.amount_minor)
    if part.credit_minor <= 0:
        raise CheckoutError(f"{tender.amount_minor} {rate.foreign} minor units is worth less than a minor unit of {rate.local}")
    return AppliedTender(
        "foreign_cash",
        part.credit_minor,
        part.credit_minor + part.change_minor,
        currency=rate.foreign,
        foreign_minor=tender.amount_minor,
        due_foreign_minor=part.due_foreign_minor,
        change_minor=part.change_minor,
        rate=rate,
    )


# --- refunds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRefund:
    total_minor: int
    tax_minor: int


def refund_of_line(line_total: int, line_tax: int, line_qty: int, refunded_before: int, qty: int) -> LineRefund:
    """The money for `qty` more units of a line of which `refunded_before` were already
    refunded. Cumulative: refunding every unit, however split, gives back exactly the
    line's total and tax, never a cent more."""
    if qty <= 0:
        raise CheckoutError("a refund quantity must be at least 1")
    if refunded_before + qty > line_qty:
        raise CheckoutError(f"only {line_qty - refunded_before} of {line_qty} left to refund")

    def share(amount: int, units: int) -> int:
        return div_round(amount * units, line_qty, "half_up")

    after = refunded_before + qty
    return LineRefund(
        total_minor=share(line_total, after) - share(line_total, refunded_before),
        tax_minor=share(line_tax, after) - share(line_tax, refunded_before),
    )


@dataclass(frozen=True)
class RefundSplit:
    tenders: tuple[tuple[str, int], ...]  # (kind, amount) to give back
    rounding_minor: int  # cash rounding applied to the cash part


def split_refund(
    amount_minor: int,
    *,
    destination: Literal["original", "cash"],
    card_refundable_minor: int,
    money_refundable_minor: int,
    cash_rounding_minor: int = 0,
) -> RefundSplit:
    """Where refunded money goes: back to the card(s) first when refunding to the
    original tender (up to what the cards still hold), the rest in cash, rounded to the
    cash increment but never past what the payment still holds."""
    if amount_minor <= 0:
        return RefundSplit((), 0)
    card = min(amount_minor, max(card_refundable_minor, 0)) if destination == "original" else 0
    cash = amount_minor - card
    rounding = 0
    if cash:
        rounded = min(round_to_increment(cash, cash_rounding_minor), money_refundable_minor - card)
        rounding, cash = rounded - cash, max(rounded, 0)
    parts = tuple((kind, amount) for kind, amount in (("card", card), ("cash", cash)) if amount > 0)
    return RefundSplit(parts, rounding)
