"""Tenders per currency handed over, the drawer per currency at a shift's close, and
register names (ADR 0072): from the events' optional fields, with their CSVs; events
older than the fields still count."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from pos_contracts.events import (
    OutletChanged,
    PaymentCaptured,
    RegisterChanged,
    SaleCompleted,
    ShiftCash,
    ShiftClosed,
    TenderLine,
)
from services.reports.tests.builders import line, outlet, sale
from services.reports.tests.conftest import A, Auth
from services.reports.tests.test_reports_handlers import MARCH

Feed = Callable[..., bool]
Get = Callable[..., Any]
TILL = "3f2a9c1e-7b4d-4e8a-9c2b-1a2b3c4d5e6f"


def dollars_sale(sale_id: str, when: str) -> SaleCompleted:
    """25.00 EUR paid with a 30.00 USD note at 1.0812 USD per EUR (27.74 EUR), 2.74 EUR change."""
    base = sale(sale_id, A, when, [line(1, "p1", 1, 2500, 417)], [])
    foreign = TenderLine(
        kind="foreign_cash", amount_minor=2500, currency="USD", foreign_minor=3000, rate="1.0812",
        rate_source="ecb", rate_as_of="2026-03-09", change_minor=274,
    )  # fmt: skip
    return base.model_copy(update={"tenders": [foreign]})


def download(client: TestClient, auth: Auth, path: str, **params: str) -> list[dict[str, str]]:
    r = client.get(f"/api/reports/{path}", params={**MARCH, **params, "format": "csv"}, headers=auth())
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text)))


def test_tenders_per_currency_with_the_foreign_amount_and_its_equivalent(
    client: TestClient, auth: Auth, feed: Feed, get: Get
) -> None:
    feed(outlet(A, "Main Street"))
    feed(dollars_sale("d1", "2026-03-10T09:00:00Z"))
    feed(dollars_sale("d2", "2026-03-10T11:00:00Z"))
    feed(sale("e1", A, "2026-03-10T12:00:00Z", [line(1, "p1", 1, 1500, 250)], [("cash", 1000), ("card", 500)]))
    # A foreign-cash tender published before the tender carried its currency.
    feed(sale("o1", A, "2026-03-11T12:00:00Z", [line(1, "p1", 1, 700, 0)], [("foreign_cash", 700)]))

    report = get("sales/tender-currencies", **MARCH)
    rows = [(r["kind"], r["tender_currency"], r["count"], r["taken_minor"], r["currency"], r["amount_minor"],
             r["change_minor"], r["average_rate"]) for r in report["rows"]]  # fmt: skip
    assert rows == [
        ("foreign_cash", "", 1, 0, "EUR", 700, 0, None),
        ("card", "EUR", 1, 500, "EUR", 500, 0, None),
        ("cash", "EUR", 1, 1000, "EUR", 1000, 0, None),
        # 60.00 USD handed over, worth 50.00 EUR paid + 5.48 EUR change: 60 / 55.48.
        ("foreign_cash", "USD", 2, 6000, "EUR", 5000, 548, "1.081471"),
    ]
    assert [(t["tender_currency"], t["count"], t["taken_minor"]) for t in report["totals_by_tender_currency"]] == [
        ("", 1, 0),
        ("EUR", 2, 1500),
        ("USD", 2, 6000),
    ]
    # The CSV: the dollars in dollars, the equivalent in euros, the outlet by name.
    usd = [r for r in download(client, auth, "sales/tender-currencies") if r["tender_currency"] == "USD"]
    assert usd == [{"outlet": "Main Street", "kind": "foreign_cash", "tender_currency": "USD", "count": "2",
                    "taken": "60.00", "currency": "EUR", "amount": "50.00", "change": "5.48", "average_rate": "1.081471"}]  # fmt: skip
    # Summed over outlets: the same figures with no outlet.
    summed = get("sales/tender-currencies", by="currency", **MARCH)["rows"]
    assert [(r["outlet_id"], r["tender_currency"], r["taken_minor"]) for r in summed][-1] == (None, "USD", 6000)
    # The tender report by kind is unchanged: foreign cash counts at what it paid.
    kinds = {r["kind"]: r["amount_minor"] for r in get("sales/tenders", **MARCH)["rows"]}
    assert kinds == {"foreign_cash": 5700, "cash": 1000, "card": 500}


def test_payment_captured_counts_foreign_cash_at_what_it_paid_with_or_without_its_figures(feed: Feed, get: Get) -> None:
    """PaymentCaptured carries a foreign-cash tender's figures now (as SaleCompleted does);
    one published before does not. Both count at what the tender paid in the outlet's
    currency, and the tenders per currency still come from the sale alone (not twice)."""
    feed(outlet(A, "Main Street"))
    dollars = dollars_sale("d1", "2026-03-10T09:00:00Z")
    feed(dollars)
    assert dollars.tenders[0].foreign_minor is not None
    feed(PaymentCaptured(payment_id="d1", sale_id="d1", outlet_id=A, currency="EUR", amount_minor=dollars.total_minor,
                         tenders=dollars.tenders, taken_at="2026-03-10T09:00:00Z"))  # fmt: skip
    older = {"payment_id": "o1", "sale_id": "o1", "outlet_id": A, "currency": "EUR", "amount_minor": 700,
             "tenders": [{"kind": "foreign_cash", "amount_minor": 700}], "taken_at": "2026-03-10T10:00:00Z"}  # fmt: skip
    feed(PaymentCaptured.model_validate(older))
    captured = {r["kind"]: r["captured_minor"] for r in get("sales/tenders", **MARCH)["rows"]}
    assert captured["foreign_cash"] == dollars.tenders[0].amount_minor + 700
    usd = [r for r in get("sales/tender-currencies", **MARCH)["rows"] if r["tender_currency"] == "USD"]
    assert [(r["count"], r["taken_minor"]) for r in usd] == [(1, dollars.tenders[0].foreign_minor)]


def shift(shift_id: str, cash: list[ShiftCash] | None) -> ShiftClosed:
    return ShiftClosed(
        shift_id=shift_id, outlet_id=A, register_id=TILL, cashier_id="cashier-1", currency="EUR",
        opened_at="2026-03-10T07:00:00Z", closed_at="2026-03-10T18:00:00Z", opening_float_minor=10000,
        expected_cash_minor=14452, counted_cash_minor=14452, over_short_minor=0, sales_count=2,
        sales_total_minor=5000, refunds_total_minor=0, cash_by_currency=cash,
    )  # fmt: skip


def test_the_drawer_per_currency_of_each_shift(client: TestClient, auth: Auth, feed: Feed, get: Get) -> None:
    feed(outlet(A, "Main Street"))
    feed(RegisterChanged(register_id=TILL, outlet_id=A, number=1, name="Front till", active=True))
    own = ShiftCash(currency="EUR", own=True, opening_float_minor=10000, sales_minor=5000, change_given_minor=548,
                    expected_minor=14452, counted_minor=14452, over_short_minor=0)  # fmt: skip
    usd = ShiftCash(currency="USD", own=False, opening_float_minor=5000, sales_minor=6000, out_minor=1000,
                    expected_minor=10000, counted_minor=9900, over_short_minor=-100)  # fmt: skip
    gbp = ShiftCash(currency="GBP", own=False, opening_float_minor=2000, sales_minor=0, expected_minor=2000)
    assert feed(shift("z1", [own, usd, gbp]))
    assert feed(shift("z1", [own]))  # published again: counted once, as first told
    assert feed(shift("z0", None))  # closed before cash control per currency: no rows

    report = get("shifts/cash", **MARCH)
    rows = [(r["shift_id"], r["register_name"], r["currency"], r["own"], r["expected_minor"], r["counted_minor"],
             r["over_short_minor"]) for r in report["rows"]]  # fmt: skip
    assert rows == [
        ("z1", "Front till", "EUR", True, 14452, 14452, 0),
        ("z1", "Front till", "GBP", False, 2000, None, None),
        ("z1", "Front till", "USD", False, 10000, 9900, -100),
    ]
    assert [(t["currency"], t["shifts"], t["over_short_minor"], t["not_counted"]) for t in report["totals_by_currency"]] == [
        ("EUR", 1, 0, 0),
        ("GBP", 1, 0, 1),
        ("USD", 1, -100, 0),
    ]
    csv_rows = download(client, auth, "shifts/cash")
    assert [(r["register"], r["currency"], r["opening_float"], r["out"], r["counted"], r["over_short"]) for r in csv_rows] == [
        ("Front till", "EUR", "100.00", "0.00", "144.52", "0.00"),
        ("Front till", "GBP", "20.00", "0.00", "", ""),
        ("Front till", "USD", "50.00", "10.00", "99.00", "-1.00"),
    ]
    # The one-figure shift report is as before.
    assert [r["shift_id"] for r in get("shifts", **MARCH)["rows"]] == ["z0", "z1"]


def test_registers_are_shown_by_name_once_identity_announces_them(client: TestClient, auth: Auth, feed: Feed, get: Get) -> None:
    feed(outlet(A, "Main Street"))
    feed(sale("s1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 1, 1200, 200)], [("cash", 1200)]), register_id=TILL)
    feed(sale("s2", A, "2026-03-10T10:00:00Z", [line(1, "p1", 1, 800, 0)], [("cash", 800)]), register_id="till-2")
    assert [r["register"] for r in download(client, auth, "sales/cashiers", by="register")] == ["3f2a9c1e", "till-2"]
    feed(RegisterChanged(register_id=TILL, outlet_id=A, number=1, name="Front till", active=True))
    feed(RegisterChanged(register_id=TILL, outlet_id=A, number=1, name="Window till", active=True))  # renamed
    assert [r["register"] for r in download(client, auth, "sales/cashiers", by="register")] == ["Window till", "till-2"]
    rows = get("sales/cashiers", by="register", **MARCH)["rows"]
    assert [(r["register_id"], r["register_name"]) for r in rows] == [(TILL, "Window till"), ("till-2", None)]


def test_an_outlet_renamed_or_moved_in_identity(feed: Feed, get: Get) -> None:
    """ADR 0072: OutletChanged updates the outlets replica: the new name is shown, and
    sales from then on are bucketed in the new time zone (days counted stay)."""
    feed(outlet(A, "Main Street"))
    feed(sale("s1", A, "2026-03-10T23:30:00Z", [line(1, "p1", 1, 1000, 0)], [("cash", 1000)]))
    assert feed(OutletChanged(outlet_id=A, name="High Street", currency="EUR", timezone="Asia/Tokyo"))
    feed(sale("s2", A, "2026-03-10T23:30:00Z", [line(1, "p1", 1, 500, 0)], [("cash", 500)]))
    rows = get("sales/outlets", **MARCH)["rows"]
    assert [(r["name"], r["timezone"]) for r in rows] == [("High Street", "Asia/Tokyo")]
    days = [(r["day"], r["gross_minor"]) for r in get("sales/daily", **MARCH)["rows"]]
    assert days == [("2026-03-10", 1000), ("2026-03-11", 500)]  # 08:30 on the 11th in Tokyo
