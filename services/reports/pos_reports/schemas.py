"""Report shapes. Money is integer minor units with its ISO 4217 currency: a figure
never adds two currencies together (rows and totals are per currency; `totals` is
only given when the report holds one currency).

Sales figures:
- gross_minor: what customers were charged, tax included, after discounts;
- discount_minor: discounts given (already taken off gross);
- tax_minor, net_minor (= gross - tax);
- refund_minor (tax included), refund_tax_minor: refunds given in the period;
- net_after_refunds_minor = net - (refund - refund tax);
- cost_minor: cost of the goods sold at the cost price when sold; refund_cost_minor:
  cost of refunded goods put back in stock; margin_minor = net after refunds -
  (cost - refund cost); margin_bp = margin / net after refunds, in basis points;
- average_basket_minor = gross / sales_count, rounded half up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, Field, field_validator


class Money(BaseModel):
    currency: str


class SalesFigures(Money):
    sales_count: int = 0
    items_sold: int = 0
    gross_minor: int = 0
    discount_minor: int = 0
    tax_minor: int = 0
    net_minor: int = 0
    refund_count: int = 0
    refund_items: int = 0
    refund_minor: int = 0
    refund_tax_minor: int = 0
    net_after_refunds_minor: int = 0
    average_basket_minor: int = 0
    cost_minor: int = 0
    refund_cost_minor: int = 0
    margin_minor: int = 0
    margin_bp: int | None = None


class Range(BaseModel):
    date_from: date
    date_to: date


class DailyRow(SalesFigures):
    day: date
    outlet_id: str | None = Field(default=None, description="null when by=day (outlets summed)")
    split_count: int = 0
    void_count: int = 0


class ConvertedFigures(BaseModel):
    """Figures converted into the chain's currency (an indication, never money of record):
    gross, tax and refunds converted; net and net after refunds derived from them."""

    sales_count: int = 0
    gross_minor: int = 0
    tax_minor: int = 0
    net_minor: int = 0
    refund_minor: int = 0
    net_after_refunds_minor: int = 0


class ConvertedCurrency(ConvertedFigures):
    """One currency's totals in the chain currency, at `rate` (units of `currency` per
    unit of the chain currency, as payments gives it; "1" for the chain currency)."""

    currency: str
    rate: str
    rate_source: str | None = None
    rate_date: date | None = None
    stale: bool = False


class ChainTotal(ConvertedFigures):
    """The chain total of a report holding several currencies, converted into the chain
    currency (POS_CHAIN_CURRENCY) at payments' rates (ADR 0072). `label` says so ("converted
    at ecb rates of 2026-12-04"); with no usable rate the figures are 0, `label` is null
    and `detail` says why (the per-currency totals are the figures of record)."""

    currency: str
    converted: bool = True
    label: str | None
    detail: str | None = None
    lines: list[ConvertedCurrency]


class DailyReport(Range):
    by: str
    rows: list[DailyRow]
    totals: SalesFigures | None  # None when the rows hold more than one currency
    totals_by_currency: list[SalesFigures]
    chain_total: ChainTotal | None = None  # only when totals_by_currency holds two currencies or more


class HourRow(SalesFigures):
    day: date | None = None
    hour: int


class HeatRow(Money):
    """A cell of the day x hour heat map: the figures a heat map shows."""

    day: date
    hour: int
    sales_count: int
    items_sold: int
    gross_minor: int
    net_minor: int
    refund_minor: int
    net_after_refunds_minor: int
    average_basket_minor: int


class HourlyReport(Range):
    by: str
    rows: list[HourRow] | list[HeatRow]
    totals_by_currency: list[SalesFigures]


class LineFigures(Money):
    qty: int = 0
    gross_minor: int = 0
    discount_minor: int = 0
    tax_minor: int = 0
    net_minor: int = 0
    refund_qty: int = 0
    refund_minor: int = 0
    refund_tax_minor: int = 0
    net_after_refunds_minor: int = 0
    cost_minor: int = 0
    refund_cost_minor: int = 0
    margin_minor: int = 0
    margin_bp: int | None = None


class ItemRow(LineFigures):
    product_id: str
    sku: str
    name: str
    category_id: str | None = None
    category_name: str | None = None


class ItemReport(Range):
    sort: str
    order: str
    rows: list[ItemRow]


class CategoryRow(LineFigures):
    category_id: str | None
    name: str
    products: int = 0  # distinct products sold


class CategoryReport(Range):
    rows: list[CategoryRow]
    totals_by_currency: list[LineFigures]


class CashierRow(SalesFigures):
    cashier_id: str | None = None
    cashier_name: str | None = None
    outlet_id: str | None = None
    register_id: str | None = None
    register_name: str | None = None  # from identity's RegisterChanged; None: not announced
    void_count: int = 0


class CashierReport(Range):
    by: str
    rows: list[CashierRow]
    totals_by_currency: list[SalesFigures]


class TenderRow(Money):
    kind: str
    amount_minor: int
    count: int
    refund_minor: int = 0
    refund_count: int = 0
    net_minor: int = 0  # amount - refunds
    captured_minor: int = 0  # as the payments service reported it
    captured_count: int = 0
    payment_refunded_minor: int = 0
    payment_refund_count: int = 0


class TenderTotals(Money):
    amount_minor: int = 0
    refund_minor: int = 0
    net_minor: int = 0
    captured_minor: int = 0


class TenderReport(Range):
    rows: list[TenderRow]
    split_sales_count: int  # sales paid with more than one tender
    totals_by_currency: list[TenderTotals]


class OutletRow(SalesFigures):
    outlet_id: str
    name: str
    timezone: str
    previous_gross_minor: int = 0
    previous_sales_count: int = 0
    gross_change_bp: int | None = None  # against the period of the same length just before


class OutletReport(Range):
    previous_from: date
    previous_to: date
    rows: list[OutletRow]
    totals_by_currency: list[SalesFigures]
    chain_total: ChainTotal | None = None  # only when totals_by_currency holds two currencies or more


class ValuationRow(Money):
    outlet_id: str
    outlet_name: str
    products_in_stock: int
    units: int
    value_minor: int
    negative_products: int  # oversold: counted at zero
    uncosted_products: int  # in stock with no cost price known


class ValuationTotals(Money):
    units: int = 0
    value_minor: int = 0


class ValuationReport(BaseModel):
    rows: list[ValuationRow]
    totals_by_currency: list[ValuationTotals]


class StockRow(BaseModel):
    outlet_id: str
    outlet_name: str
    product_id: str
    sku: str
    name: str
    on_hand: int | None
    reorder_point: int | None
    sold: int  # net of refunds, over the velocity window
    daily_velocity: float  # units per day (a rate, not money)
    days_of_cover: float | None  # None: nothing sold in the window
    suggested_order_qty: int  # to cover target_days at the current velocity


class StockReport(BaseModel):
    velocity_from: date
    velocity_to: date
    velocity_computed_at: datetime | None  # when the velocity was worked out; None: just now
    target_days: int
    rows: list[StockRow]

    @field_validator("velocity_computed_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Stored as naive UTC; answered with its offset, as RFC 3339 date-time requires.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class ShiftRow(Money):
    shift_id: str | None = None
    outlet_id: str | None = None
    register_id: str | None = None
    register_name: str | None = None
    cashier_id: str | None = None
    cashier_name: str | None = None
    day: date | None = None
    opened_at: str | None = None
    closed_at: str | None = None
    shifts: int = 1
    opening_float_minor: int = 0
    expected_cash_minor: int = 0
    counted_cash_minor: int = 0
    over_short_minor: int = 0
    sales_count: int = 0
    sales_total_minor: int = 0
    refunds_total_minor: int = 0


class ShiftTotals(Money):
    shifts: int = 0
    over_short_minor: int = 0
    sales_count: int = 0
    sales_total_minor: int = 0
    refunds_total_minor: int = 0


class ShiftReport(Range):
    by: str
    rows: list[ShiftRow]
    totals_by_currency: list[ShiftTotals]


class TenderCurrencyRow(Money):
    """Tenders paid in one currency at an outlet (ADR 0072). `currency` is the outlet's
    (the sale's), `tender_currency` the one handed over: the outlet's own for cash and
    card, the foreign one for foreign cash ("" for foreign cash recorded before the
    events carried it). taken_minor is in tender_currency; amount_minor (what the
    tenders paid of the sales) and change_minor (given for them) in `currency`."""

    outlet_id: str | None = None
    kind: str
    tender_currency: str
    count: int = 0
    taken_minor: int = 0
    amount_minor: int = 0
    change_minor: int = 0
    average_rate: str | None = None  # taken / (amount + change), units of tender_currency per unit of currency


class TenderCurrencyTotals(BaseModel):
    tender_currency: str
    count: int = 0
    taken_minor: int = 0


class TenderCurrencyReport(Range):
    by: str
    rows: list[TenderCurrencyRow]
    totals_by_tender_currency: list[TenderCurrencyTotals]  # what was handed over, per currency


class ShiftCashRow(Money):
    """The drawer of one shift in one currency at its close (ShiftClosed's
    cash_by_currency), in minor units of `currency`."""

    shift_id: str
    outlet_id: str
    register_id: str
    register_name: str | None = None
    cashier_id: str
    cashier_name: str | None = None
    day: date
    closed_at: str
    own: bool
    opening_float_minor: int
    sales_minor: int
    refunds_minor: int
    in_minor: int
    out_minor: int
    change_given_minor: int
    expected_minor: int
    counted_minor: int | None = None  # None: not counted
    over_short_minor: int | None = None


class ShiftCashTotals(Money):
    shifts: int = 0
    expected_minor: int = 0
    counted_minor: int = 0  # of the shifts that counted it
    over_short_minor: int = 0
    not_counted: int = 0  # shifts that closed without counting this currency


class ShiftCashReport(Range):
    rows: list[ShiftCashRow]
    totals_by_currency: list[ShiftCashTotals]
