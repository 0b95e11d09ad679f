"""Reports: events fed straight to the consumer, then read back through the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pos_contracts import new_envelope
from pos_contracts.events import (
    LowStockDetected,
    ParkedLine,
    PaymentCaptured,
    PaymentRefunded,
    ProductArchived,
    ProductChanged,
    SaleVoided,
    ShiftClosed,
    StockAdjusted,
    StockDeducted,
    StockLine,
    StockReturned,
    StockTransferred,
    TenderLine,
    UserChanged,
)
from pos_platform.bus import PoisonMessage
from pos_platform.consumer import EventConsumer
from pos_reports.export import decimal_amount
from pos_reports.tables import stock_levels
from pos_reports.velocity import refresh_velocity
from services.reports.tests.builders import envelope, line, outlet, product, refund, sale
from services.reports.tests.conftest import A, Auth, B

MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
Feed = Callable[..., bool]
Get = Callable[..., Any]

ENDPOINTS = [
    "sales/daily",
    "sales/hourly",
    "sales/items",
    "sales/categories",
    "sales/cashiers",
    "sales/tenders",
    "sales/outlets",
    "stock/valuation",
    "stock/low",
    "stock/cover",
    "shifts",
]


def pick(rows: list[dict[str, Any]], *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(r[f] for f in fields) for r in rows]


@pytest.fixture
def march(feed: Feed) -> None:
    """Three sales at outlet A on 10 and 11 March (outlet A keeps UTC), one at B."""
    feed(product("p1", "Coffee", cost=500, category_id="c-hot", category_name="Hot drinks", price=1200))
    feed(outlet(A, "Main Street"))
    formula = "=HYPERLINK(1)"  # p2 has no catalog replica: its name comes from the sales
    s1 = sale(
        "s1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 2, 2400, 400), line(2, "p2", 1, 1000, 0, formula)], [("cash", 3400)]
    )
    # 01:30 at UTC+2 is still 10 March in UTC, the outlet's timezone.
    s2 = sale("s2", A, "2026-03-11T01:30:00+02:00", [line(1, "p1", 1, 1200, 200)], [("cash", 200), ("card", 1000)])
    s3 = sale(
        "s3", A, "2026-03-11T12:00:00+00:00", [line(1, "p2", 3, 3000, 0, formula)], [("card", 3000)], cashier_id="cashier-2"
    )
    s4 = sale("s4", B, "2026-03-10T12:00:00Z", [line(1, "p1", 5, 6000, 1000)], [("cash", 6000)])
    for event in (s1, s2, s3, s4):
        assert feed(event) is True


def test_a_redelivered_event_counts_once(consumer: EventConsumer, get: Get) -> None:
    env = envelope(sale("s1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 2, 2400, 400)], [("cash", 2400)]))
    assert consumer.handle(env) is True
    assert consumer.handle(env) is False
    report = get("sales/daily", **MARCH)
    assert pick(
        report["rows"], "day", "outlet_id", "currency", "sales_count", "items_sold", "gross_minor", "tax_minor", "net_minor"
    ) == [("2026-03-10", A, "EUR", 1, 2, 2400, 400, 2000)]
    assert pick(get("sales/items", **MARCH)["rows"], "product_id", "sku", "name", "qty", "gross_minor") == [
        ("p1", "SKU-p1", "Product p1", 2, 2400)
    ]
    assert pick(get("sales/tenders", **MARCH)["rows"], "kind", "amount_minor", "count") == [("cash", 2400, 1)]


def test_a_sale_published_again_under_a_new_event_id_counts_once(feed: Feed, get: Get) -> None:
    again = sale("s1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 2, 2400, 400)], [("cash", 2400)])
    assert feed(again) is True
    assert feed(again) is True  # a new envelope: the inbox lets it in, the sale id does not
    assert get("sales/daily", **MARCH)["totals"]["sales_count"] == 1
    assert get("sales/items", **MARCH)["rows"][0]["qty"] == 2


def test_daily_report_sums_per_outlet_and_local_day(get: Get, march: None) -> None:
    report = get("sales/daily", **MARCH)
    assert (report["date_from"], report["date_to"], report["by"]) == ("2026-03-01", "2026-03-31", "day_outlet")
    assert pick(report["rows"], "day", "outlet_id", "sales_count", "items_sold", "gross_minor", "tax_minor", "net_minor") == [
        ("2026-03-10", A, 2, 4, 4600, 600, 4000),
        ("2026-03-11", A, 1, 3, 3000, 0, 3000),
    ]
    first = report["rows"][0]
    assert first["average_basket_minor"] == 2300
    assert first["split_count"] == 1  # s2: cash and card
    # p1 costs 5.00: 3 sold on the 10th; p2 has no known cost.
    assert (first["cost_minor"], first["margin_minor"], first["margin_bp"]) == (1500, 2500, 6250)
    totals = report["totals"]
    assert {k: totals[k] for k in ("currency", "sales_count", "items_sold", "gross_minor", "tax_minor", "net_minor")} == {
        "currency": "EUR",
        "sales_count": 3,
        "items_sold": 7,
        "gross_minor": 7600,
        "tax_minor": 600,
        "net_minor": 7000,
    }
    assert totals["average_basket_minor"] == 2533  # 7600 / 3, half up
    assert report["totals_by_currency"] == [totals]

    everything = get("sales/daily", role="admin", outlets=[], **MARCH)
    assert pick(everything["rows"], "day", "outlet_id") == [("2026-03-10", A), ("2026-03-10", B), ("2026-03-11", A)]
    assert everything["totals"]["gross_minor"] == 13600
    per_day = get("sales/daily", role="admin", outlets=[], by="day", **MARCH)
    assert pick(per_day["rows"], "day", "outlet_id", "sales_count", "gross_minor") == [
        ("2026-03-10", None, 3, 10600),
        ("2026-03-11", None, 1, 3000),
    ]
    only_b = get("sales/daily", role="admin", outlets=[], outlet_id=B, **MARCH)
    assert [r["outlet_id"] for r in only_b["rows"]] == [B]
    both = get("sales/daily", outlets=[A, B], outlet_id=[A, B], **MARCH)
    assert both["totals"]["gross_minor"] == 13600
    one_day = get("sales/daily", date_from="2026-03-11", date_to="2026-03-11")
    assert one_day["totals"]["sales_count"] == 1


def test_days_and_hours_are_the_outlets_local_ones(feed: Feed, get: Get) -> None:
    feed(outlet("ny", "New York", "USD", "America/New_York"))
    # 02:30 UTC on 11 March is 22:30 on 10 March in New York (EDT from 8 March 2026).
    feed(sale("n1", "ny", "2026-03-11T02:30:00Z", [line(1, "p1", 1, 500, 0)], [("cash", 500)], currency="USD"))
    feed(sale("n2", "ny", "2026-03-11T13:15:00Z", [line(1, "p1", 2, 1000, 0)], [("card", 1000)], currency="USD"))
    daily = get("sales/daily", outlets=["ny"], **MARCH)
    assert pick(daily["rows"], "day", "sales_count", "currency") == [("2026-03-10", 1, "USD"), ("2026-03-11", 1, "USD")]
    hours = get("sales/hourly", outlets=["ny"], **MARCH)
    assert pick(hours["rows"], "hour", "sales_count", "gross_minor") == [(9, 1, 1000), (22, 1, 500)]
    heat = get("sales/hourly", outlets=["ny"], by="day_hour", **MARCH)
    assert pick(heat["rows"], "day", "hour", "gross_minor") == [("2026-03-10", 22, 500), ("2026-03-11", 9, 1000)]


def test_currencies_are_never_added_together(feed: Feed, get: Get) -> None:
    feed(outlet("uk", "London", "GBP", "Europe/London"))
    feed(outlet(A, "Main Street"))
    feed(sale("e1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 1, 1000, 0)], [("cash", 1000)]))
    feed(sale("g1", "uk", "2026-03-10T09:00:00Z", [line(1, "p1", 1, 900, 0)], [("cash", 900)], currency="GBP"))
    report = get("sales/daily", role="admin", outlets=[], **MARCH)
    assert report["totals"] is None
    assert pick(report["totals_by_currency"], "currency", "gross_minor") == [("EUR", 1000), ("GBP", 900)]
    assert pick(get("sales/tenders", role="admin", outlets=[], **MARCH)["rows"], "currency", "kind", "amount_minor") == [
        ("EUR", "cash", 1000),
        ("GBP", "cash", 900),
    ]
    items = get("sales/items", role="admin", outlets=[], **MARCH)["rows"]
    assert sorted(pick(items, "product_id", "currency", "gross_minor")) == [("p1", "EUR", 1000), ("p1", "GBP", 900)]
    outlets = get("sales/outlets", role="admin", outlets=[], **MARCH)["rows"]
    assert pick(outlets, "outlet_id", "name", "currency", "timezone") == [
        (A, "Main Street", "EUR", "UTC"),
        ("uk", "London", "GBP", "Europe/London"),
    ]


def test_item_report_ranks_with_margin_from_the_cost_when_sold(feed: Feed, get: Get, march: None) -> None:
    rows = get("sales/items", **MARCH)["rows"]
    assert pick(rows, "product_id", "sku", "name", "qty", "gross_minor", "cost_minor", "margin_minor") == [
        ("p2", "SKU-p2", "=HYPERLINK(1)", 4, 4000, 0, 4000),
        ("p1", "SKU-p1", "Coffee", 3, 3600, 1500, 1500),  # net 3000 - cost 3 x 500
    ]
    assert rows[1]["category_id"] == "c-hot" and rows[1]["category_name"] == "Hot drinks"
    assert get("sales/items", limit="1", **MARCH)["rows"][0]["product_id"] == "p2"
    assert get("sales/items", limit="1000", **MARCH)["rows"] == rows  # one pass for many rows, two for few: same answer
    assert (
        get("sales/items", limit="1000", sort="margin", order="asc", **MARCH)["rows"]
        == get("sales/items", limit="2", sort="margin", order="asc", **MARCH)["rows"]
    )
    assert [r["product_id"] for r in get("sales/items", sort="qty", order="asc", **MARCH)["rows"]] == ["p1", "p2"]
    assert [r["product_id"] for r in get("sales/items", sort="margin", **MARCH)["rows"]] == ["p2", "p1"]
    assert [r["product_id"] for r in get("sales/items", category_id="c-hot", **MARCH)["rows"]] == ["p1"]
    # The catalog's current name wins; the cost recorded when sold does not change.
    feed(ProductChanged(product_id="p1", sku="SKU-p1", name="Espresso", price_minor=1200, cost_minor=900, currency="EUR"))
    again = get("sales/items", **MARCH)["rows"][1]
    assert (again["name"], again["cost_minor"]) == ("Espresso", 1500)
    feed(sale("s5", A, "2026-03-12T10:00:00Z", [line(1, "p1", 1, 1200, 200)], [("cash", 1200)]))
    latest = {r["product_id"]: r for r in get("sales/items", **MARCH)["rows"]}
    assert latest["p1"]["cost_minor"] == 1500 + 900


def test_bottom_sellers_can_include_products_that_sold_nothing(feed: Feed, get: Get, march: None) -> None:
    feed(product("p9", "Dusty tin", cost=100))
    feed(product("p8", "Archived", cost=100))
    feed(ProductArchived(product_id="p8"))
    rows = get("sales/items", order="asc", include_unsold="true", **MARCH)["rows"]
    assert pick(rows, "product_id", "qty") == [("p9", 0), ("p1", 3), ("p2", 4)]


def test_category_report(feed: Feed, get: Get, march: None) -> None:
    report = get("sales/categories", **MARCH)
    assert pick(report["rows"], "category_id", "name", "qty", "net_minor", "cost_minor") == [
        (None, "(no category)", 4, 4000, 0),
        ("c-hot", "Hot drinks", 3, 3000, 1500),
    ]
    assert pick(report["totals_by_currency"], "currency", "qty", "net_minor", "margin_minor") == [("EUR", 7, 7000, 5500)]


def test_cashier_and_register_report(feed: Feed, get: Get, march: None) -> None:
    feed(UserChanged(user_id="cashier-1", email="c1@example.com", name="Ann", role="cashier", outlets=[A], active=True))
    feed(
        sale("s6", A, "2026-03-12T10:00:00Z", [line(1, "p1", 1, 1200, 200)], [("cash", 1200)]),
        register_id="till-2",
    )
    feed(SaleVoided(sale_id="v1", outlet_id=A, cashier_id="cashier-2", voided_at="2026-03-12T11:00:00Z"))
    rows = get("sales/cashiers", **MARCH)["rows"]
    assert pick(rows, "cashier_id", "cashier_name", "sales_count", "gross_minor", "void_count") == [
        ("cashier-1", "Ann", 3, 5800, 0),
        ("cashier-2", None, 1, 3000, 1),
    ]
    registers = get("sales/cashiers", by="register", **MARCH)["rows"]
    assert pick(registers, "outlet_id", "register_id", "sales_count") == [(A, "", 3), (A, "till-2", 1)]
    assert get("sales/daily", date_from="2026-03-12", date_to="2026-03-12")["rows"][0]["void_count"] == 1


def test_tender_report_with_split_payments_refunds_and_payments_cross_check(
    consumer: EventConsumer, feed: Feed, get: Get, march: None
) -> None:
    def on_12_march(event: Any) -> None:
        # Payment events carry no timestamp of their own: they count when they occurred.
        consumer.handle(envelope(event).model_copy(update={"occurred_at": datetime(2026, 3, 12, 10, tzinfo=UTC)}))

    on_12_march(
        PaymentCaptured(
            payment_id="s2",
            sale_id="s2",
            outlet_id=A,
            currency="EUR",
            amount_minor=1200,
            tenders=[TenderLine(kind="cash", amount_minor=200), TenderLine(kind="card", amount_minor=1000)],
        )
    )
    feed(refund("r1", "s3", A, "2026-03-12T10:00:00Z", [(1, "p2", 1, 1000, 0, True)], [("card", 1000)]))
    on_12_march(
        PaymentRefunded(
            refund_id="r1",
            payment_id="s3",
            sale_id="s3",
            outlet_id=A,
            currency="EUR",
            amount_minor=1000,
            tenders=[TenderLine(kind="card", amount_minor=1000)],
        )
    )
    report = get("sales/tenders", **MARCH)
    assert pick(
        report["rows"], "kind", "amount_minor", "count", "refund_minor", "net_minor", "captured_minor", "payment_refunded_minor"
    ) == [
        ("card", 4000, 2, 1000, 3000, 1000, 1000),
        ("cash", 3600, 2, 0, 3600, 200, 0),
    ]
    assert report["split_sales_count"] == 1
    assert pick(report["totals_by_currency"], "currency", "amount_minor", "refund_minor", "net_minor") == [
        ("EUR", 7600, 1000, 6600)
    ]


def test_refunds_count_on_their_day_at_the_cost_when_sold(feed: Feed, get: Get, march: None) -> None:
    # The cost of p1 rises after the sale: the refund is costed as sold (500).
    feed(ProductChanged(product_id="p1", sku="SKU-p1", name="Coffee", price_minor=1200, cost_minor=800, currency="EUR"))
    r1 = refund(
        "r1",
        "s1",
        A,
        "2026-03-12T08:00:00Z",
        [(1, "p1", 1, 1200, 200, True), (2, "p2", 1, 1000, 0, False)],
        [("cash", 2200)],
        cashier_id="cashier-2",
    )
    assert feed(r1) is True
    assert feed(r1) is True  # again under a new event id: counted once
    day = get("sales/daily", date_from="2026-03-12", date_to="2026-03-12")["rows"]
    assert pick(day, "sales_count", "refund_count", "refund_items", "refund_minor", "refund_tax_minor", "refund_cost_minor") == [
        (0, 1, 2, 2200, 200, 500)
    ]
    assert day[0]["net_after_refunds_minor"] == -2000
    totals = get("sales/daily", **MARCH)["totals"]
    assert (totals["net_minor"], totals["net_after_refunds_minor"]) == (7000, 5000)
    # margin: 5000 - (cost 1500 - 500 back on the shelf); the unrestocked p2 is a loss
    assert totals["margin_minor"] == 4000
    items = {r["product_id"]: r for r in get("sales/items", **MARCH)["rows"]}
    assert (items["p1"]["refund_qty"], items["p1"]["refund_minor"], items["p1"]["refund_cost_minor"]) == (1, 1200, 500)
    assert (items["p2"]["refund_qty"], items["p2"]["refund_cost_minor"]) == (1, 0)
    cashiers = {r["cashier_id"]: r for r in get("sales/cashiers", **MARCH)["rows"]}
    assert cashiers["cashier-2"]["refund_minor"] == 2200
    hours = get("sales/hourly", **MARCH)["rows"]
    assert [(r["hour"], r["refund_minor"]) for r in hours if r["refund_minor"]] == [(8, 2200)]
    categories = {r["category_id"]: r for r in get("sales/categories", **MARCH)["rows"]}
    assert categories["c-hot"]["refund_minor"] == 1200


def test_a_refund_of_a_sale_the_reports_never_saw_uses_the_current_cost(feed: Feed, get: Get) -> None:
    feed(product("p1", cost=300, category_id="c1"))
    feed(refund("r1", "unknown", A, "2026-03-12T08:00:00Z", [(1, "p1", 2, 2000, 0, True)], [("cash", 2000)]))
    row = get("sales/items", **MARCH)["rows"][0]
    assert (row["product_id"], row["qty"], row["refund_qty"], row["refund_cost_minor"], row["category_id"]) == (
        "p1",
        0,
        2,
        600,
        "c1",
    )


def test_the_cost_sales_recorded_counts_even_for_a_product_the_reports_never_heard_of(feed: Feed, get: Get) -> None:
    # The sale reaches the reports before catalog's ProductCreated of p7 (different
    # producers, no set order): the line's unit_cost_minor is the cost when sold.
    feed(outlet(A, "Main Street"))
    feed(product("p1", "Coffee", cost=500, price=1200))
    s1 = sale(
        "s1",
        A,
        "2026-03-10T09:00:00Z",
        [line(1, "p7", 2, 2400, 0, unit_cost=450), line(2, "p1", 1, 1200, 0, unit_cost=520)],
        [("cash", 3600)],
    )
    assert feed(s1) is True
    feed(product("p7", "Tin", cost=999, price=1200))  # announced late, and at another cost by now
    day = get("sales/daily", **MARCH)["rows"]
    # 2 x 4.50 + 1 x 5.20 (sales' cost when sold, not the replica's 5.00)
    assert pick(day, "cost_minor", "margin_minor") == [(1420, 3600 - 1420)]
    items = {r["product_id"]: r for r in get("sales/items", **MARCH)["rows"]}
    assert (items["p7"]["cost_minor"], items["p1"]["cost_minor"]) == (900, 520)
    # A refund puts the goods back at the cost they were sold at.
    feed(refund("r1", "s1", A, "2026-03-11T09:00:00Z", [(1, "p7", 1, 1200, 0, True)], [("cash", 1200)]))
    refunded = get("sales/daily", date_from="2026-03-11", date_to="2026-03-11")["rows"]
    assert pick(refunded, "refund_cost_minor") == [(450,)]
    # An older event, without the field: the replica's cost, as before.
    feed(sale("s2", A, "2026-03-12T09:00:00Z", [line(1, "p7", 1, 1200, 0)], [("cash", 1200)]))
    assert pick(get("sales/daily", date_from="2026-03-12", date_to="2026-03-12")["rows"], "cost_minor") == [(999,)]


def test_discounts_are_read_from_the_payload_when_the_sale_carries_them(feed: Feed, get: Get) -> None:
    event = sale("d1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 2, 1800, 300), line(2, "p2", 1, 1000, 0)], [("cash", 2800)])
    payload = event.model_dump(mode="json")
    payload["lines"][0]["discount_minor"] = 200
    feed(event, lines=payload["lines"], discount_minor=250)  # 200 on the line, 50 on the cart
    assert get("sales/daily", **MARCH)["totals"]["discount_minor"] == 250
    items = {r["product_id"]: r["discount_minor"] for r in get("sales/items", **MARCH)["rows"]}
    assert items == {"p1": 200, "p2": 0}


def test_discounts_and_registers_from_the_contract_fields_in_every_sales_report(
    consumer: EventConsumer, feed: Feed, get: Get
) -> None:
    """SaleCompleted's optional discount_minor (sale and lines) and register_id, as sales
    publishes them, reach the daily, hourly, product, category, cashier, register and
    outlet reports; an older event without them still counts (no discount, no register)."""
    feed(outlet(A, "Main Street", timezone="Europe/Paris"))
    discounted = sale(
        "d2",
        A,
        "2026-03-10T09:15:00Z",
        [
            line(1, "p1", 2, 1800, 300, category_id="c1").model_copy(update={"gross_minor": 2000, "discount_minor": 200}),
            line(2, "p2", 1, 950, 0, category_id="c1").model_copy(update={"gross_minor": 1000, "discount_minor": 50}),
        ],
        [("cash", 2750)],
    ).model_copy(update={"discount_minor": 250, "register_id": "till-9", "shift_id": "shift-1"})
    assert envelope(discounted).payload["register_id"] == "till-9"
    feed(discounted)
    old = envelope(sale("d3", A, "2026-03-10T09:40:00Z", [line(1, "p1", 1, 1000, 0)], [("card", 1000)]))
    for field in ("discount_minor", "register_id", "shift_id", "rounding_minor"):
        old.payload.pop(field)
    for raw in old.payload["lines"]:
        raw.pop("discount_minor"), raw.pop("gross_minor")
    assert consumer.handle(old)

    day = {"date_from": "2026-03-10", "date_to": "2026-03-10"}
    daily = get("sales/daily", **day)
    assert pick(daily["rows"], "sales_count", "gross_minor", "discount_minor") == [(2, 3750, 250)]
    assert pick(get("sales/hourly", **day)["rows"], "hour", "discount_minor") == [(10, 250)]  # Paris: UTC+1
    items = {r["product_id"]: r["discount_minor"] for r in get("sales/items", **day)["rows"]}
    assert items == {"p1": 200, "p2": 50}
    assert pick(get("sales/categories", **day)["rows"], "category_id", "discount_minor") == [("c1", 250)]
    assert pick(get("sales/cashiers", **day)["rows"], "cashier_id", "discount_minor") == [("cashier-1", 250)]
    registers = get("sales/cashiers", by="register", **day)["rows"]
    assert sorted(pick(registers, "register_id", "sales_count", "gross_minor", "discount_minor")) == [
        ("", 1, 1000, 0),
        ("till-9", 1, 2750, 250),
    ]
    feed(SaleVoided(sale_id="v9", outlet_id=A, cashier_id="cashier-1", voided_at="2026-03-10T11:00:00Z", register_id="till-9"))
    registers = get("sales/cashiers", by="register", **day)["rows"]
    assert sorted(pick(registers, "register_id", "void_count")) == [("", 0), ("till-9", 1)]
    assert pick(get("sales/outlets", **day)["rows"], "outlet_id", "discount_minor") == [(A, 250)]


def test_outlet_report_compares_with_the_period_before(feed: Feed, get: Get) -> None:
    feed(outlet(A, "Main Street"))
    feed(sale("old", A, "2026-02-20T10:00:00Z", [line(1, "p1", 1, 4000, 0)], [("cash", 4000)]))
    feed(sale("new", A, "2026-03-10T10:00:00Z", [line(1, "p1", 1, 3000, 0)], [("cash", 3000)]))
    report = get("sales/outlets", date_from="2026-03-01", date_to="2026-03-28")
    assert (report["previous_from"], report["previous_to"]) == ("2026-02-01", "2026-02-28")
    assert pick(report["rows"], "outlet_id", "gross_minor", "previous_gross_minor", "gross_change_bp") == [(A, 3000, 4000, -2500)]
    # B sold in February and not at all in March: the outlet slipping most is listed, at zero.
    feed(outlet(B, "Side Street"))
    feed(sale("b-old", B, "2026-02-15T10:00:00Z", [line(1, "p1", 2, 5000, 0)], [("cash", 5000)]))
    report = get("sales/outlets", role="admin", outlets=[], date_from="2026-03-01", date_to="2026-03-28")
    assert pick(report["rows"], "outlet_id", "name", "sales_count", "gross_minor", "previous_gross_minor", "gross_change_bp") == [
        (A, "Main Street", 1, 3000, 4000, -2500),
        (B, "Side Street", 0, 0, 5000, -10000),
    ]
    assert report["totals_by_currency"][0]["gross_minor"] == 3000


def test_stock_levels_take_the_newest_event_whatever_the_order(consumer: EventConsumer, feed: Feed, get: Get) -> None:
    feed(product("p1", "Tea", cost=250))
    feed(product("p2", "Cake", cost=1000))
    t0 = datetime(2026, 3, 10, 9, tzinfo=UTC)

    def at(event: Any, seconds: float) -> bool:
        env = envelope(event).model_copy(update={"occurred_at": t0 + timedelta(seconds=seconds)})
        return consumer.handle(env)

    at(StockAdjusted(outlet_id=A, product_id="p1", delta=10, reason="receipt", on_hand_after=10), 0)
    # Two deductions arrive newest first: the older one must not win.
    at(StockDeducted(sale_id="s2", outlet_id=A, lines=[StockLine(product_id="p1", qty=1, on_hand_after=7)]), 2.000001)
    at(StockDeducted(sale_id="s1", outlet_id=A, lines=[StockLine(product_id="p1", qty=2, on_hand_after=8)]), 2)
    at(StockReturned(refund_id="r", sale_id="s0", outlet_id=A, lines=[StockLine(product_id="p2", qty=1, on_hand_after=-1)]), 3)
    at(
        StockTransferred(
            transfer_id="t",
            from_outlet_id=A,
            to_outlet_id=B,
            status="sent",
            lines=[StockLine(product_id="p2", qty=4, on_hand_after=5)],
        ),
        4,
    )
    at(
        StockTransferred(
            transfer_id="t",
            from_outlet_id=A,
            to_outlet_id=B,
            status="received",
            lines=[StockLine(product_id="p2", qty=4, on_hand_after=4)],
        ),
        5,
    )
    report = get("stock/valuation", role="admin", outlets=[])
    assert pick(report["rows"], "outlet_id", "products_in_stock", "units", "value_minor", "negative_products") == [
        (A, 2, 12, 7 * 250 + 5 * 1000, 0),
        (B, 1, 4, 4000, 0),
    ]
    assert pick(report["totals_by_currency"], "currency", "units", "value_minor") == [("EUR", 16, 10750)]
    assert get("stock/valuation")["rows"][0]["outlet_id"] == A  # a manager of A sees A only
    assert len(get("stock/valuation")["rows"]) == 1
    # A new cost price revalues the stock; an unknown product is uncosted until announced.
    feed(ProductChanged(product_id="p1", sku="SKU-p1", name="Tea", price_minor=1000, cost_minor=300, currency="EUR"))
    at(StockAdjusted(outlet_id=A, product_id="p3", delta=3, reason="count", on_hand_after=3), 6)
    rows = get("stock/valuation", role="admin", outlets=[])["rows"]
    assert pick(rows, "outlet_id", "currency", "units", "value_minor", "uncosted_products") == [
        (A, "", 3, 0, 1),
        (A, "EUR", 12, 7 * 300 + 5 * 1000, 0),
        (B, "EUR", 4, 4000, 0),
    ]
    feed(product("p3", "Jam", cost=200))
    rows = get("stock/valuation", role="admin", outlets=[])["rows"]
    assert pick(rows, "outlet_id", "currency", "products_in_stock", "units", "value_minor") == [
        (A, "EUR", 3, 15, 7 * 300 + 5 * 1000 + 3 * 200),
        (B, "EUR", 1, 4, 4000),
    ]


def test_a_deduction_inventory_parked_moves_stock_only_when_applied(consumer: EventConsumer, feed: Feed, get: Get) -> None:
    """Inventory parks the lines of a sale naming a product it did not know yet: its
    StockDeducted lists them as parked, with no level; the StockDeducted of their later
    deduction carries the level."""
    feed(product("p1", "Tea", cost=250))
    t0 = datetime(2026, 3, 10, 9, tzinfo=UTC)

    def at(event: Any, seconds: float) -> bool:
        return consumer.handle(envelope(event).model_copy(update={"occurred_at": t0 + timedelta(seconds=seconds)}))

    at(StockAdjusted(outlet_id=A, product_id="p1", delta=5, reason="receipt", on_hand_after=5), 0)
    assert at(StockDeducted(sale_id="s1", outlet_id=A, lines=[], parked=[ParkedLine(product_id="p1", qty=2)]), 1)
    units = lambda: pick(get("stock/valuation", role="admin", outlets=[])["rows"], "units", "value_minor")  # noqa: E731
    assert units() == [(5, 5 * 250)]
    assert at(StockDeducted(sale_id="s1", outlet_id=A, lines=[StockLine(product_id="p1", qty=2, on_hand_after=3)]), 2)
    assert units() == [(3, 3 * 250)]


def test_low_stock_list_and_days_of_cover(client: TestClient, feed: Feed, get: Get) -> None:
    feed(outlet(A, "Main Street"))
    feed(product("p1", "Tea", cost=250))
    feed(product("p2", "Cake", cost=1000))
    today = datetime.now(UTC)
    for days_ago in range(28):  # 2 teas a day for four weeks, one cake a week
        moment = (today - timedelta(days=days_ago)).replace(hour=12).isoformat()
        lines = [line(1, "p1", 2, 400, 0)] + ([line(2, "p2", 1, 500, 0)] if days_ago % 7 == 0 else [])
        feed(sale(f"s{days_ago}", A, moment, lines, [("cash", 400 + (500 if days_ago % 7 == 0 else 0))]))
    feed(StockAdjusted(outlet_id=A, product_id="p2", delta=9, reason="count", on_hand_after=9))
    feed(LowStockDetected(outlet_id=A, product_id="p1", on_hand=6, reorder_point=10))
    low = get("stock/low")
    assert pick(
        low["rows"], "product_id", "name", "on_hand", "reorder_point", "sold", "days_of_cover", "suggested_order_qty"
    ) == [
        ("p1", "Tea", 6, 10, 56, 3.0, 22)  # 2 a day: 6 last 3 days; 14 days need 28
    ]
    assert low["target_days"] == 14
    cover = get("stock/cover")["rows"]
    assert pick(cover, "product_id", "on_hand", "daily_velocity", "days_of_cover", "suggested_order_qty") == [
        ("p1", 6, 2.0, 3.0, 22),
        ("p2", 9, round(4 / 28, 3), 63.0, 0),
    ]
    assert [r["product_id"] for r in get("stock/cover", reorder_only="true")["rows"]] == ["p1"]
    assert get("stock/cover")["velocity_computed_at"] is None  # summed at the request
    # The refreshed velocity gives the same answers, read from the stock levels.
    before = {path: get(path) for path in ("stock/low", "stock/cover")}
    refresh_velocity(client.app.state.ctx.db)
    for path, answer in before.items():
        again = get(path)
        assert again["velocity_computed_at"] is not None
        assert again["rows"] == answer["rows"], path
    assert [r["product_id"] for r in get("stock/cover", reorder_only="true")["rows"]] == ["p1"]
    other = get("stock/cover", velocity_days="27")  # another window: summed at the request
    assert other["velocity_computed_at"] is None and other["rows"][0]["sold"] == 54
    # A window with no sales puts every level back to nothing sold; today's again, as before.
    db = client.app.state.ctx.db

    def held() -> dict[str, int]:
        with db.session_factory() as session:
            return {p: int(n) for p, n in session.execute(select(stock_levels.c.product_id, stock_levels.c.sold_window))}

    assert held() == {"p1": 56, "p2": 4}
    refresh_velocity(db, today=today.date() + timedelta(days=90))
    assert held() == {"p1": 0, "p2": 0}
    refresh_velocity(db)
    assert held() == {"p1": 56, "p2": 4}
    # Stock above the reorder point again leaves the low-stock list.
    feed(StockAdjusted(outlet_id=A, product_id="p1", delta=30, reason="receipt", on_hand_after=36))
    assert get("stock/low")["rows"] == []


def test_shift_reports(feed: Feed, get: Get) -> None:
    feed(outlet(A, "Main Street", timezone="Europe/Paris"))
    feed(UserChanged(user_id="cashier-1", email="c1@example.com", name="Ann", role="cashier", outlets=[A], active=True))

    def shift(shift_id: str, cashier: str, closed_at: str, over_short: int) -> ShiftClosed:
        return ShiftClosed(
            shift_id=shift_id,
            outlet_id=A,
            register_id="till-1",
            cashier_id=cashier,
            currency="EUR",
            opened_at="2026-03-10T07:00:00Z",
            closed_at=closed_at,
            opening_float_minor=10000,
            expected_cash_minor=25000,
            counted_cash_minor=25000 + over_short,
            over_short_minor=over_short,
            sales_count=12,
            sales_total_minor=30000,
            refunds_total_minor=1500,
        )

    assert feed(shift("z1", "cashier-1", "2026-03-10T23:30:00Z", -200))  # 00:30 on the 11th in Paris
    assert feed(shift("z1", "cashier-1", "2026-03-10T23:30:00Z", -200))  # again: one shift
    assert feed(shift("z2", "cashier-2", "2026-03-11T18:00:00Z", 100))
    report = get("shifts", **MARCH)
    assert pick(report["rows"], "shift_id", "day", "cashier_name", "over_short_minor", "sales_total_minor") == [
        ("z2", "2026-03-11", None, 100, 30000),
        ("z1", "2026-03-11", "Ann", -200, 30000),
    ]
    by_cashier = get("shifts", by="cashier", **MARCH)["rows"]
    assert pick(by_cashier, "cashier_id", "shifts", "over_short_minor") == [("cashier-1", 1, -200), ("cashier-2", 1, 100)]
    assert pick(get("shifts", by="day", **MARCH)["rows"], "day", "shifts", "sales_count") == [("2026-03-11", 2, 24)]
    assert pick(report["totals_by_currency"], "currency", "shifts", "over_short_minor", "refunds_total_minor") == [
        ("EUR", 2, -100, 3000)
    ]


def test_csv_downloads(client: TestClient, auth: Auth, march: None) -> None:
    """Downloads are for people: outlets by name, amounts as decimals in the row's
    currency (the JSON keeps ids and minor units)."""
    r = client.get("/api/reports/sales/daily", params={**MARCH, "format": "csv"}, headers=auth())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="sales-daily_2026-03-01_2026-03-31.csv"'
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0][:8] == ["day", "outlet", "currency", "sales_count", "items_sold", "gross", "discount", "tax"]
    assert [row[:8] for row in table[1:]] == [
        ["2026-03-10", "Main Street", "EUR", "2", "4", "46.00", "0.00", "6.00"],
        ["2026-03-11", "Main Street", "EUR", "1", "3", "30.00", "0.00", "0.00"],
    ]
    assert A not in r.text and "_minor" not in table[0]

    r = client.get("/api/reports/sales/items", params={**MARCH, "format": "csv"}, headers=auth())
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0][:8] == ["product_id", "sku", "name", "category_id", "category_name", "currency", "qty", "gross"]
    assert [row[:3] for row in table[1:]] == [["p2", "SKU-p2", "'=HYPERLINK(1)"], ["p1", "SKU-p1", "Coffee"]]  # a formula is text

    r = client.get("/api/reports/sales/tenders", params={**MARCH, "format": "csv"}, headers=auth())
    assert "attachment" in r.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(r.text)))
    assert table[0][:4] == ["kind", "amount", "count", "currency"]
    assert [row[:4] for row in table[1:]] == [["card", "40.00", "2", "EUR"], ["cash", "36.00", "2", "EUR"]]

    r = client.get("/api/reports/sales/outlets", params={**MARCH, "format": "csv"}, headers=auth())
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["outlet"], row["currency"], row["gross"]) for row in table] == [("Main Street", "EUR", "76.00")]
    assert "outlet_id" not in table[0] and A not in r.text

    empty = client.get(
        "/api/reports/sales/tenders", params={"date_from": "2025-01-01", "date_to": "2025-01-02", "format": "csv"}, headers=auth()
    )
    assert list(csv.reader(io.StringIO(empty.text)))[1:] == []


def test_csv_amounts_follow_the_currency_exponent() -> None:
    assert [decimal_amount(m, "EUR") for m in (1250, -5, 0, 100000)] == ["12.50", "-0.05", "0.00", "1000.00"]
    assert (decimal_amount(500, "JPY"), decimal_amount(1234, "KWD"), decimal_amount(-1, "XYZ")) == ("500", "1.234", "-0.01")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "1000"},
        {"limit": "1000", "sort": "margin", "order": "asc", "include_unsold": "true"},
        {"limit": "2", "sort": "qty"},
        {"limit": "1000", "outlet_id": A},
    ],
)
def test_the_product_csv_holds_the_json_rows_cell_for_cell(
    client: TestClient, auth: Auth, feed: Feed, march: None, params: dict[str, str]
) -> None:
    """The product download is written without a model per row (a 1,000-row export): the
    same rows, columns and values as the JSON, a formula-like name as text, an empty
    cell for None, a product the catalog never announced under its id."""
    feed(sale("u1", A, "2026-03-20T10:00:00Z", [line(1, "p-unknown", 1, 700, 0)], [("cash", 700)]))
    feed(product("p-unsold", "-unsold", cost=10))
    query = MARCH | params
    rows = client.get("/api/reports/sales/items", params=query, headers=auth("admin")).json()["rows"]
    r = client.get("/api/reports/sales/items", params=query | {"format": "csv"}, headers=auth("admin"))
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert rows and len(table) == len(rows)
    for row, cells in zip(rows, table, strict=True):
        # the same columns, amounts under their name without _minor
        assert sorted(cells) == sorted(c.removesuffix("_minor") for c in row)
        for column, value in row.items():
            if column.endswith("_minor"):
                assert cells[column.removesuffix("_minor")] == decimal_amount(value, row["currency"]), (column, value)
                continue
            text = "" if value is None else str(value)
            assert cells[column] == ("'" + text if text[:1] in "=+-@" and text else text), (column, value)
    if "include_unsold" in params:
        assert rows[0]["name"] == "-unsold" and table[0]["name"] == "'-unsold" and table[0]["margin_bp"] == ""


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_report_has_a_csv_download(client: TestClient, auth: Auth, march: None, path: str) -> None:
    r = client.get(f"/api/reports/{path}", params={"format": "csv"}, headers=auth())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="')
    header = next(csv.reader(io.StringIO(r.text)))
    assert len(header) == len(set(header)) >= 3


def test_each_view_downloads_under_its_own_file_name(client: TestClient, auth: Auth, march: None) -> None:
    views = [("sales/hourly", {}), ("sales/hourly", {"by": "day_hour"})]
    views += [("sales/cashiers", {"by": by}) for by in ("cashier", "register", "cashier_register")]
    names = []
    for path, params in views:
        r = client.get(f"/api/reports/{path}", params={"format": "csv", **MARCH, **params}, headers=auth())
        assert r.status_code == 200, r.text
        names.append(r.headers["content-disposition"].split('filename="')[1].rstrip('"'))
    assert names == [
        "sales-hourly_2026-03-01_2026-03-31.csv",
        "sales-day-hour_2026-03-01_2026-03-31.csv",
        "sales-cashiers_2026-03-01_2026-03-31.csv",
        "sales-registers_2026-03-01_2026-03-31.csv",
        "sales-cashier-registers_2026-03-01_2026-03-31.csv",
    ]


def test_default_range_ends_today(feed: Feed, get: Get) -> None:
    now = datetime.now(UTC).isoformat()
    feed(sale("today", A, now, [line(1, "p1", 1, 500, 0)], [("cash", 500)]))
    report = get("sales/daily")
    assert report["date_to"] == now[:10]
    assert [r["day"] for r in report["rows"]] == [now[:10]]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_who_may_see_what(client: TestClient, auth: Auth, march: None, path: str) -> None:
    url = f"/api/reports/{path}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth("cashier")).status_code == 403
    assert client.get(url, params={"outlet_id": B}, headers=auth("manager", [A])).status_code == 404
    assert client.get(url, params={"outlet_id": [A, B]}, headers=auth("manager", [A])).status_code == 404
    assert client.get(url, params={"outlet_id": B}, headers=auth("manager", [B])).status_code == 200
    assert client.get(url, params={"outlet_id": A}, headers=auth("manager", [B])).status_code == 404


def test_a_manager_without_a_filter_sees_only_their_outlets(get: Get, march: None) -> None:
    assert {r["outlet_id"] for r in get("sales/daily", outlets=[B], **MARCH)["rows"]} == {B}
    assert get("sales/daily", outlets=[], **MARCH)["rows"] == []  # a manager of no outlet sees nothing
    assert {r["outlet_id"] for r in get("sales/outlets", outlets=[B], **MARCH)["rows"]} == {B}


@pytest.mark.parametrize("path", ["stock/cover", "stock/low", "sales/outlets", "sales/daily"])
@pytest.mark.parametrize(
    "params", [{"date_to": "0001-01-01"}, {"date_from": "0001-01-01", "date_to": "0001-01-02"}, {"date_to": "9999-12-31"}]
)
def test_days_far_outside_any_business_are_refused_not_overflowed(
    client: TestClient, auth: Auth, path: str, params: dict[str, str]
) -> None:
    """A year 0001 (or 9999) made the previous period's date arithmetic overflow: 500."""
    r = client.get(f"/api/reports/{path}", params=params, headers=auth())
    assert r.status_code == 422, r.text
    assert "2000-01-01" in r.text or "2999-12-31" in r.text


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-03-31", "date_to": "2026-03-01"},
        {"date_from": "2025-01-01", "date_to": "2026-01-02"},
        {"date_from": "2026-02-30"},
        {"format": "xlsx"},
        {"by": "week"},
    ],
)
def test_bad_ranges_are_refused(client: TestClient, auth: Auth, params: dict[str, str]) -> None:
    r = client.get("/api/reports/sales/daily", params=params, headers=auth())
    assert r.status_code == 422, r.text
    # The documented shape (FastAPI's validation errors), whoever refused it.
    errors = r.json()["detail"]
    assert isinstance(errors, list) and errors, r.text
    for error in errors:
        assert error["loc"][0] == "query" and error["msg"] and error["type"], error


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "date_from", "choose a date_from on or before date_to"),
        ({"date_from": "2001-07-14", "date_to": "2026-12-21"}, "date_from", "covers 9292 days; a report covers at most 366"),
        ({"outlet_id": "x" * 37}, "outlet_id", "outlet_id is at most 36 characters"),
    ],
)
def test_rules_beyond_the_schema_answer_a_list_of_errors_saying_what_to_change(
    client: TestClient, auth: Auth, params: dict[str, str], field: str, says: str
) -> None:
    r = client.get("/api/reports/sales/items", params=params, headers=auth())
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["query", field] and error["type"] == "value_error"
    assert says in error["msg"], error


def test_a_full_leap_year_is_allowed(get: Get) -> None:
    assert get("sales/daily", date_from="2028-01-01", date_to="2028-12-31")["rows"] == []


def test_replicas(client: TestClient, feed: Feed) -> None:
    from sqlalchemy import select

    from pos_reports.tables import categories, outlets, products

    assert feed(outlet(A, "Main Street", timezone="Europe/Paris"))
    assert feed(product("p1", "Tea", cost=40))
    assert feed(
        ProductChanged(
            product_id="p1",
            sku="S1",
            name="Green tea",
            price_minor=100,
            cost_minor=45,
            category_id="c1",
            category_name="Teas",
            currency="EUR",
        )
    )
    with client.app.state.ctx.db.transaction() as uow:
        assert [tuple(r) for r in uow.session.execute(select(outlets))] == [(A, "Main Street", "EUR", "Europe/Paris")]
        assert [tuple(r) for r in uow.session.execute(select(products))] == [
            ("p1", "S1", "Green tea", 45, "c1", 100, "EUR", True)
        ]
        assert [tuple(r) for r in uow.session.execute(select(categories))] == [("c1", "Teas")]


def test_every_subscribed_event_type_has_a_handler() -> None:
    from pos_contracts.topology import SUBSCRIPTIONS
    from pos_reports.handlers import HANDLERS

    assert {key.split(".", 1)[1] for key in SUBSCRIPTIONS["reports"]} == set(HANDLERS)


def test_malformed_timestamp_is_poison(consumer: EventConsumer, feed: Feed, get: Get) -> None:
    with pytest.raises(PoisonMessage):
        feed(sale("bad", A, "yesterday", [line(1, "p1", 1, 500, 0)], [("cash", 500)]))
    assert get("sales/daily", **MARCH)["rows"] == []
    # Rolled back with the handler, so a fixed redelivery would still be processed.
    env = new_envelope(sale("ok", A, "2026-03-05T10:00:00Z", [line(1, "p1", 1, 500, 0)], [("cash", 500)]), producer="sales")
    assert consumer.handle(env) is True


def test_cash_taken_offline_counts_on_the_day_it_was_taken(consumer: EventConsumer, get: Get, march: None) -> None:
    """Issue 15: a sale made offline on the 11th and synced on the 12th: its cash is in
    the 11th's tender figures, like the sale itself (SaleCompleted.completed_at)."""
    captured = PaymentCaptured(
        payment_id="off1",
        sale_id="off1",
        outlet_id=A,
        currency="EUR",
        amount_minor=700,
        tenders=[TenderLine(kind="cash", amount_minor=700)],
        taken_at="2026-03-11T18:30:00Z",
    )
    consumer.handle(envelope(captured).model_copy(update={"occurred_at": datetime(2026, 3, 12, 9, tzinfo=UTC)}))
    on_11 = get("sales/tenders", date_from="2026-03-11", date_to="2026-03-11")["rows"]
    on_12 = get("sales/tenders", date_from="2026-03-12", date_to="2026-03-12")["rows"]
    assert [(r["kind"], r["captured_minor"]) for r in on_11 if r["captured_minor"]] == [("cash", 700)]
    assert [r for r in on_12 if r.get("captured_minor")] == []
