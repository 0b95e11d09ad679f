"""Purchase-order rules (issue 17, ADR 0071). Plain Python, no I/O: the order's number,
what a receipt may record and the status it leaves, the lines drafted from the reorder
suggestions, and the order as the supplier reads it (CSV and mail)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from pos_inventory.domain import suggested_order
from pos_platform.currencies import currency as currency_info

DRAFT, SENT, PARTIAL, RECEIVED, CANCELLED = "draft", "sent", "partially_received", "received", "cancelled"
STATUSES = (DRAFT, SENT, PARTIAL, RECEIVED, CANCELLED)
# States in which goods may be received against the order.
RECEIVABLE = (SENT, PARTIAL)

MAX_QTY = 100_000
MAX_UNIT_COST_MINOR = 100_000_000_000  # 1 000 000 000.00 in a two-decimal currency


class OrderStateError(Exception):
    """The order is not in the state this step needs (409)."""


class ReceiptError(ValueError):
    """A receipt that cannot be recorded as given (422); nothing was moved."""


def po_number(po_id: int) -> str:
    """The number staff and the supplier quote: 42 -> 'PO-000042'."""
    return f"PO-{po_id:06d}"


def status_text(status: str) -> str:
    return status.replace("_", " ")


@dataclass(frozen=True)
class Suggestion:
    """A low-stock line of the outlet (inventory's reorder suggestion)."""

    product_id: str
    on_hand: int
    reorder_point: int
    reorder_qty: int


def draft_from_suggestions(suggestions: list[Suggestion], supplied: set[str]) -> list[tuple[str, int]]:
    """The lines of an order drafted from the reorder suggestions: each low line of a
    product the supplier supplies, at the suggested quantity (the reorder quantity, or
    enough to rise above the reorder point), in product order."""
    found = []
    for s in sorted(suggestions, key=lambda s: s.product_id):
        if s.product_id not in supplied:
            continue
        qty = min(suggested_order(s.on_hand, s.reorder_point, s.reorder_qty), MAX_QTY)
        if qty > 0:
            found.append((s.product_id, qty))
    return found


@dataclass(frozen=True)
class OrderedLine:
    product_id: str
    name: str
    qty: int
    received: int

    @property
    def outstanding(self) -> int:
        return max(0, self.qty - self.received)


def check_receipt(lines: list[OrderedLine], receipt: dict[str, int]) -> list[tuple[str, int]]:
    """The movements a receipt makes (product, quantity > 0), or ReceiptError saying what
    is wrong: a product not on the order, or more than is still outstanding. Receiving
    more than was ordered is refused (ADR 0071): the extra goes in as a plain goods
    receipt or a count, so the order's figures stay what the supplier confirmed."""
    by_product = {line.product_id: line for line in lines}
    unknown = sorted(set(receipt) - set(by_product))
    if unknown:
        raise ReceiptError(f"not on this order: {', '.join(unknown)}")
    problems = []
    for product_id, qty in sorted(receipt.items()):
        line = by_product[product_id]
        if qty > line.outstanding:
            problems.append(
                f"{line.name}: {qty} received now would make {line.received + qty} of the {line.qty} ordered "
                f"(at most {line.outstanding} still to come)"
            )
    if problems:
        raise ReceiptError(
            "; ".join(problems) + ". Record at most what is outstanding; receive the extra as a goods receipt under Stock."
        )
    moves = [(p, q) for p, q in sorted(receipt.items()) if q > 0]
    if not moves:
        raise ReceiptError("nothing received: give the quantity that arrived of at least one product")
    return moves


def status_after_receipt(lines: list[tuple[int, int]]) -> str:
    """(ordered, received) of every line after a receipt: received when every line is
    in full, else partially received."""
    return RECEIVED if all(received >= qty for qty, received in lines) else PARTIAL


def decimal_amount(minor: int, currency: str) -> str:
    """1250 EUR -> '12.50', 500 JPY -> '500': never a float."""
    try:
        exponent = currency_info(currency).minor_units
    except ValueError:
        exponent = 2
    if not exponent:
        return str(minor)
    sign = "-" if minor < 0 else ""
    units, fraction = divmod(abs(minor), 10**exponent)
    return f"{sign}{units}.{fraction:0{exponent}d}"


@dataclass(frozen=True)
class SheetLine:
    name: str
    sku: str
    supplier_sku: str
    qty: int
    unit_cost_minor: int

    @property
    def total_minor(self) -> int:
        return self.qty * self.unit_cost_minor


@dataclass(frozen=True)
class Sheet:
    """An order as the supplier reads it."""

    number: str
    outlet: str
    supplier: str
    currency: str
    note: str
    lines: list[SheetLine]

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)


def _cell(value: str) -> str:
    # A text cell starting like a formula is run by spreadsheets: make it plain text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def order_csv(sheet: Sheet) -> str:
    """The order as CSV: one row per line with names and decimal amounts in the order's
    currency, and a total row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["order", "deliver to", "supplier", "product", "sku", "supplier sku", "qty", "unit cost", "line total", "currency"]
    )
    for line in sheet.lines:
        writer.writerow(
            [
                sheet.number,
                _cell(sheet.outlet),
                _cell(sheet.supplier),
                _cell(line.name),
                _cell(line.sku),
                _cell(line.supplier_sku),
                line.qty,
                decimal_amount(line.unit_cost_minor, sheet.currency),
                decimal_amount(line.total_minor, sheet.currency),
                sheet.currency,
            ]
        )
    writer.writerow(
        [
            sheet.number,
            "",
            "",
            "total",
            "",
            "",
            sum(x.qty for x in sheet.lines),
            "",
            decimal_amount(sheet.total_minor, sheet.currency),
            sheet.currency,
        ]
    )
    return out.getvalue()


def order_mail_text(sheet: Sheet) -> tuple[str, str]:
    """(subject, plain-text body) of the mail that sends the order to the supplier."""
    subject = f"Purchase order {sheet.number} from {sheet.outlet}"
    width = max([len(line.name) for line in sheet.lines] + [7])
    rows = [
        f"Purchase order {sheet.number}",
        f"Deliver to: {sheet.outlet}",
        f"Supplier: {sheet.supplier}",
        "",
        f"{'Product':<{width}}  {'Your code':<12} {'Qty':>6} {'Unit cost':>12} {'Total':>12}",
    ]
    for line in sheet.lines:
        rows.append(
            f"{line.name:<{width}}  {line.supplier_sku:<12} {line.qty:>6} "
            f"{decimal_amount(line.unit_cost_minor, sheet.currency):>12} {decimal_amount(line.total_minor, sheet.currency):>12}"
        )
    rows += ["", f"Total: {decimal_amount(sheet.total_minor, sheet.currency)} {sheet.currency}"]
    if sheet.note:
        rows += ["", f"Note: {sheet.note}"]
    rows += ["", f"Please quote {sheet.number} on the delivery note.", "", "The same order as CSV, for a spreadsheet:", ""]
    rows.append(order_csv(sheet))
    return subject, "\n".join(rows)
