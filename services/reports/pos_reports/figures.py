"""Report arithmetic on summed integer columns: what follows from them (net, margin,
average basket, ratios in basis points) and totals per currency. No float, no SQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pos_reports.schemas import HeatRow, SalesFigures

SALES_SUMS = (
    "sales_count",
    "items_sold",
    "gross_minor",
    "discount_minor",
    "tax_minor",
    "cost_minor",
    "refund_count",
    "refund_items",
    "refund_minor",
    "refund_tax_minor",
    "refund_cost_minor",
)
LINE_SUMS = (
    "qty",
    "gross_minor",
    "discount_minor",
    "tax_minor",
    "cost_minor",
    "refund_qty",
    "refund_minor",
    "refund_tax_minor",
    "refund_cost_minor",
)
HEAT_SUMS = ("sales_count", "items_sold", "gross_minor", "tax_minor", "refund_minor", "refund_tax_minor")
TENDER_SUMS = (
    "amount_minor",
    "count",
    "refund_minor",
    "refund_count",
    "captured_minor",
    "captured_count",
    "payment_refunded_minor",
    "payment_refund_count",
)
SHIFT_SUMS = (
    "opening_float_minor",
    "expected_cash_minor",
    "counted_cash_minor",
    "over_short_minor",
    "sales_count",
    "sales_total_minor",
    "refunds_total_minor",
)
VALUE_COUNTS = ("products_in_stock", "units", "value_minor", "negative_products", "uncosted_products")


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


def ratio_bp(part: int, whole: int) -> int | None:
    if whole == 0:
        return None
    sign = -1 if (part < 0) != (whole < 0) else 1
    return sign * half_up(abs(part) * 10_000, abs(whole))


def sales_figures(values: Mapping[str, Any]) -> dict[str, Any]:
    """The summed columns (MySQL's SUM is a DECIMAL: int() it) and what follows from them."""
    f = {c: int(values.get(c) or 0) for c in SALES_SUMS}
    f["net_minor"] = f["gross_minor"] - f["tax_minor"]
    f["net_after_refunds_minor"] = f["net_minor"] - (f["refund_minor"] - f["refund_tax_minor"])
    f["average_basket_minor"] = half_up(f["gross_minor"], f["sales_count"]) if f["sales_count"] else 0
    return _with_margin(f)


def line_figures(values: Mapping[str, Any]) -> dict[str, Any]:
    f = {c: int(values.get(c) or 0) for c in LINE_SUMS}
    f["net_minor"] = f["gross_minor"] - f["tax_minor"]
    f["net_after_refunds_minor"] = f["net_minor"] - (f["refund_minor"] - f["refund_tax_minor"])
    return _with_margin(f)


def _with_margin(f: dict[str, Any]) -> dict[str, Any]:
    """The margin after refunds, in minor units and in basis points of the net."""
    f["margin_minor"] = f["net_after_refunds_minor"] - (f["cost_minor"] - f["refund_cost_minor"])
    f["margin_bp"] = ratio_bp(f["margin_minor"], f["net_after_refunds_minor"])
    return f


def by_currency(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Sums per currency (never across currencies)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(columns, 0))
    for row in rows:
        total = totals[row["currency"]]
        for column in columns:
            total[column] += int(row.get(column) or 0)
    return dict(sorted(totals.items()))


def sales_totals(rows: Iterable[Mapping[str, Any]]) -> list[SalesFigures]:
    """A report's sales figures summed per currency, in currency order."""
    return [SalesFigures(currency=c, **sales_figures(summed)) for c, summed in by_currency(rows, SALES_SUMS).items()]


def heat_row(r: Mapping[str, Any]) -> HeatRow:
    f = {c: int(r[c] or 0) for c in HEAT_SUMS}
    net = f["gross_minor"] - f["tax_minor"]
    return HeatRow(
        day=r["day"],
        hour=r["hour"],
        currency=r["currency"],
        sales_count=f["sales_count"],
        items_sold=f["items_sold"],
        gross_minor=f["gross_minor"],
        net_minor=net,
        refund_minor=f["refund_minor"],
        net_after_refunds_minor=net - f["refund_minor"] + f["refund_tax_minor"],
        average_basket_minor=half_up(f["gross_minor"], f["sales_count"]) if f["sales_count"] else 0,
    )
