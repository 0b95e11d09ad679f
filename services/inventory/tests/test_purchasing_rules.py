"""Purchase-order rules without I/O (issue 17, ADR 0071): the lines drafted from the
reorder suggestions, what a receipt may record, the status it leaves, and the order as
the supplier reads it (decimal amounts, names, never minor units)."""

from __future__ import annotations

import csv
import io

import pytest

from pos_inventory.purchasing import (
    PARTIAL,
    RECEIVED,
    OrderedLine,
    ReceiptError,
    Sheet,
    SheetLine,
    Suggestion,
    check_receipt,
    decimal_amount,
    draft_from_suggestions,
    order_csv,
    order_mail_text,
    po_number,
    status_after_receipt,
)


def test_the_order_number_is_what_people_quote() -> None:
    assert po_number(42) == "PO-000042"
    assert po_number(1234567) == "PO-1234567"


def test_a_draft_takes_the_supplier_s_low_products_at_the_suggested_quantity() -> None:
    low = [
        Suggestion("milk", on_hand=0, reorder_point=6, reorder_qty=12),  # the reorder quantity
        Suggestion("beans", on_hand=3, reorder_point=5, reorder_qty=0),  # enough to rise above the point
        Suggestion("tea", on_hand=1, reorder_point=4, reorder_qty=10),  # another supplier's
        Suggestion("cups", on_hand=-4, reorder_point=2, reorder_qty=3),  # oversold: more than the reorder qty
    ]
    assert draft_from_suggestions(low, {"milk", "beans", "cups"}) == [("beans", 3), ("cups", 7), ("milk", 12)]
    assert draft_from_suggestions(low, {"sugar"}) == []


ORDER = [OrderedLine("milk", "Oat milk 1 l", qty=12, received=0), OrderedLine("beans", "Espresso beans", qty=3, received=2)]


def test_a_receipt_moves_what_arrived_and_leaves_out_zero_lines() -> None:
    assert check_receipt(ORDER, {"milk": 5, "beans": 0}) == [("milk", 5)]
    assert check_receipt(ORDER, {"beans": 1, "milk": 12}) == [("beans", 1), ("milk", 12)]


def test_more_than_is_outstanding_is_refused_with_the_figures() -> None:
    with pytest.raises(ReceiptError) as refused:
        check_receipt(ORDER, {"beans": 2, "milk": 1})
    message = str(refused.value)
    assert "Espresso beans: 2 received now would make 4 of the 3 ordered (at most 1 still to come)" in message
    assert "goods receipt" in message
    assert "Oat milk" not in message


def test_a_product_not_on_the_order_or_nothing_at_all_is_refused() -> None:
    with pytest.raises(ReceiptError, match="not on this order: tea"):
        check_receipt(ORDER, {"tea": 1})
    with pytest.raises(ReceiptError, match="nothing received"):
        check_receipt(ORDER, {"milk": 0})


def test_the_order_is_received_only_when_every_line_is_in_full() -> None:
    assert status_after_receipt([(12, 5), (3, 3)]) == PARTIAL
    assert status_after_receipt([(12, 12), (3, 3)]) == RECEIVED


def test_amounts_are_decimals_in_the_currency_s_exponent() -> None:
    assert decimal_amount(1250, "EUR") == "12.50"
    assert decimal_amount(5, "EUR") == "0.05"
    assert decimal_amount(500, "JPY") == "500"
    assert decimal_amount(12345, "KWD") == "12.345"


SHEET = Sheet(
    number="PO-000007",
    outlet="Harbour St",
    supplier="Bean & Leaf Ltd",
    currency="EUR",
    note="deliver before 10:00",
    lines=[
        SheetLine("Espresso beans", "BEANS-1", "BL-77", 3, 1250),
        SheetLine("=cmd", "X", "", 2, 99),  # a name a spreadsheet would run
    ],
)


def test_the_csv_names_things_and_shows_decimal_amounts() -> None:
    rows = list(csv.reader(io.StringIO(order_csv(SHEET))))
    assert rows[0] == [
        "order",
        "deliver to",
        "supplier",
        "product",
        "sku",
        "supplier sku",
        "qty",
        "unit cost",
        "line total",
        "currency",
    ]
    assert rows[1] == [
        "PO-000007",
        "Harbour St",
        "Bean & Leaf Ltd",
        "Espresso beans",
        "BEANS-1",
        "BL-77",
        "3",
        "12.50",
        "37.50",
        "EUR",
    ]
    assert rows[2][3] == "'=cmd"
    assert rows[3] == ["PO-000007", "", "", "total", "", "", "5", "", "39.48", "EUR"]


def test_the_mail_lists_the_lines_and_the_total() -> None:
    subject, text = order_mail_text(SHEET)
    assert subject == "Purchase order PO-000007 from Harbour St"
    assert "Espresso beans" in text and "BL-77" in text and "37.50" in text
    assert "Total: 39.48 EUR" in text
    assert "Note: deliver before 10:00" in text
    assert "1250" not in text
