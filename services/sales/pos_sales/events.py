"""SaleCompleted, SaleRefunded and ShiftClosed as sales publishes them, built in one place
from the stored row and its answer (the receipt, the refund slip or the Z report): when
the sale or refund completes or the shift closes, and again by the history feed
(pos_sales.history) for a rebuild. A sale's line costs come from sale_lines (or the
priced cart), never from the receipt, which a till sees."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pos_contracts.events import RefundLine, SaleCompleted, SaleLine, SaleRefunded, ShiftCash, ShiftClosed, TenderLine

FOREIGN = ("currency", "foreign_minor", "rate", "rate_source", "rate_as_of")


def _tenders(document: dict[str, Any]) -> list[TenderLine]:
    """Each tender with its kind and amount; a foreign-cash one also with its currency,
    the amount handed over in it, the stamped rate and the change (ADR 0072)."""
    return [
        TenderLine(
            kind=t["kind"],
            amount_minor=t["amount_minor"],
            change_minor=t.get("change_minor") or 0,
            **{k: t[k] for k in FOREIGN if t.get(k) is not None},
        )
        for t in document["tenders"]
    ]


def sale_completed(row: Any, receipt: dict[str, Any], costs: Mapping[int, int | None] | None = None) -> SaleCompleted:
    """`row`: the sales row; `receipt`: the completed receipt (with its number and time);
    `costs`: each line's unit cost when sold, by line_no (sale_lines.unit_cost_minor):
    it goes in the event only, the receipt has no cost. A line without one (an older
    sale) has no unit_cost_minor and the reports cost it from their catalog replica."""
    costs = costs or {}
    return SaleCompleted(
        sale_id=row.id,
        outlet_id=row.outlet_id,
        cashier_id=row.cashier_id,
        receipt_number=receipt["receipt_number"],
        currency=row.currency,
        lines=[SaleLine(**line, unit_cost_minor=costs.get(line["line_no"])) for line in receipt["lines"]],
        subtotal_minor=receipt["subtotal_minor"],
        tax_minor=receipt["tax_minor"],
        total_minor=receipt["total_minor"],
        tenders=_tenders(receipt),
        completed_at=receipt["completed_at"],
        register_id=row.register_id,
        shift_id=row.shift_id,
        # Receipts stored before these were on the receipt: the row's columns.
        discount_minor=receipt.get("discount_minor", row.discount_minor),
        rounding_minor=receipt.get("rounding_minor", row.rounding_minor),
        offline=bool(receipt.get("offline")),
        received_at=receipt.get("received_at"),
    )


def sale_refunded(row: Any, slip: dict[str, Any]) -> SaleRefunded:
    """`row`: the refunds row; `slip`: the completed refund slip (with its time)."""
    return SaleRefunded(
        refund_id=row.id,
        sale_id=row.sale_id,
        outlet_id=row.outlet_id,
        cashier_id=row.cashier_id,
        approved_by=row.approved_by,
        currency=row.currency,
        lines=[RefundLine(**line) for line in slip["lines"]],
        total_minor=row.total_minor,
        tax_minor=row.tax_minor,
        tenders=_tenders(slip),
        refunded_at=slip["refunded_at"],
        register_id=row.register_id,
        shift_id=row.shift_id,
        rounding_minor=row.rounding_minor,
    )


def shift_cash(report: dict[str, Any]) -> list[ShiftCash] | None:
    """ShiftClosed's drawer per currency, from the Z-report's cash_by_currency (None for a
    report stored before it existed)."""
    rows = report.get("cash_by_currency")
    if rows is None:
        return None
    return [ShiftCash(**row) for row in rows]


def shift_closed(
    shift: Any,
    report: dict[str, Any],
    *,
    shift_id: str,
    cashier_id: str,
    expected_minor: int,
    counted_minor: int,
    over_short_minor: int,
) -> ShiftClosed:
    """`shift`: the shifts row (its outlet, register, currency and float); `report`: its Z
    report; the cashier who closed it and the drawer's figures as stored at the close."""
    return ShiftClosed(
        shift_id=shift_id,
        outlet_id=shift.outlet_id,
        register_id=shift.register_id,
        cashier_id=cashier_id,
        currency=shift.currency,
        opened_at=report["opened_at"],
        closed_at=report["closed_at"],
        opening_float_minor=shift.opening_float_minor,
        expected_cash_minor=expected_minor,
        counted_cash_minor=counted_minor,
        over_short_minor=over_short_minor,
        sales_count=report["sales"]["count"],
        sales_total_minor=report["sales"]["total_minor"],
        refunds_total_minor=report["refunds"]["total_minor"],
        cash_by_currency=shift_cash(report),
    )
