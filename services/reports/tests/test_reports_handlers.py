"""Reports: events fed straight to the consumer, then read back through the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_contracts import new_envelope
from pos_contracts.events import (
    OutletCreated,
    PaymentCaptured,
    ProductChanged,
    ProductCreated,
    SaleCompleted,
    SaleLine,
    TenderLine,
)
from pos_platform.bus import InProcessBus, PoisonMessage
from pos_platform.consumer import EventConsumer
from pos_platform.keys import ensure_keypair
from pos_platform.testing import mint_token
from pos_reports.app import create_app
from pos_reports.config import Settings

A, B = "outlet-a", "outlet-b"
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "jwt-private.pem", tmp_path / "jwt-public.pem"
    ensure_keypair(str(private), str(public))
    return private, public


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", jwt_public_key_file=str(keys[1]))
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def consumer(client: TestClient) -> EventConsumer:
    consumer = client.app.state.ctx.consumer
    assert consumer is not None
    return consumer


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    def headers(role: str = "manager", outlets: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(keys[0], role, [A] if outlets is None else outlets)}"}

    return headers


def line(line_no: int, product_id: str, qty: int, total: int, tax: int, name: str | None = None) -> SaleLine:
    return SaleLine(
        line_no=line_no,
        product_id=product_id,
        sku=f"SKU-{product_id}",
        name=name or f"Product {product_id}",
        qty=qty,
        unit_price_minor=total // qty,
        tax_rate_bp=2000 if tax else 0,
        tax_minor=tax,
        total_minor=total,
    )


def sale(
    sale_id: str, outlet_id: str, completed_at: str, lines: list[SaleLine], tenders: list[tuple[str, int]]
) -> SaleCompleted:
    total = sum(ln.total_minor for ln in lines)
    tax = sum(ln.tax_minor for ln in lines)
    return SaleCompleted(
        sale_id=sale_id,
        outlet_id=outlet_id,
        cashier_id="cashier-1",
        receipt_number=f"R-{sale_id}",
        currency="EUR",
        lines=lines,
        subtotal_minor=total - tax,
        tax_minor=tax,
        total_minor=total,
        tenders=[TenderLine(kind=k, amount_minor=a) for k, a in tenders],
        completed_at=completed_at,
    )


def feed(consumer: EventConsumer, event: Any, producer: str = "sales") -> bool:
    return consumer.handle(new_envelope(event, producer=producer, outlet_id=getattr(event, "outlet_id", None)))


def get(
    client: TestClient, auth: Auth, path: str, role: str = "manager", outlets: list[str] | None = None, **params: str
) -> Any:
    r = client.get(f"/api/reports/sales/{path}", params=params, headers=auth(role, outlets))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def march(consumer: EventConsumer) -> None:
    """Three sales at outlet A on 10 and 11 March (UTC), one at outlet B."""
    feed(
        consumer,
        ProductCreated(product_id="p1", sku="SKU-p1", name="Coffee", price_minor=1200, currency="EUR"),
        "catalog",
    )
    feed(consumer, OutletCreated(outlet_id=A, name="Main Street", currency="EUR"), "identity")
    formula = "=HYPERLINK(1)"  # p2 has no catalog replica: its name comes from the sales
    s1 = sale(
        "s1",
        A,
        "2026-03-10T09:00:00Z",
        [line(1, "p1", 2, 2400, 400), line(2, "p2", 1, 1000, 0, formula)],
        [("cash", 3400)],
    )
    # 01:30 at UTC+2 is still 10 March in UTC.
    s2 = sale("s2", A, "2026-03-11T01:30:00+02:00", [line(1, "p1", 1, 1200, 200)], [("cash", 200), ("card", 1000)])
    s3 = sale("s3", A, "2026-03-11T12:00:00+00:00", [line(1, "p2", 3, 3000, 0, formula)], [("card", 3000)])
    s4 = sale("s4", B, "2026-03-10T12:00:00Z", [line(1, "p1", 5, 6000, 1000)], [("cash", 6000)])
    for event in (s1, s2, s3, s4):
        assert feed(consumer, event) is True


def test_a_redelivered_event_counts_once(client: TestClient, consumer: EventConsumer, auth: Auth) -> None:
    envelope = new_envelope(
        sale("s1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 2, 2400, 400)], [("cash", 2400)]), producer="sales"
    )
    assert consumer.handle(envelope) is True
    assert consumer.handle(envelope) is False
    report = get(client, auth, "daily", **MARCH)
    assert report["rows"] == [
        {
            "day": "2026-03-10",
            "outlet_id": A,
            "sales_count": 1,
            "items_sold": 2,
            "gross_minor": 2400,
            "tax_minor": 400,
            "net_minor": 2000,
        }
    ]
    assert get(client, auth, "items", **MARCH)["rows"] == [
        {"product_id": "p1", "sku": "SKU-p1", "name": "Product p1", "qty": 2, "gross_minor": 2400}
    ]
    assert get(client, auth, "tenders", **MARCH)["rows"] == [{"kind": "cash", "amount_minor": 2400, "count": 1}]


def test_daily_report_sums_per_outlet_and_utc_day(client: TestClient, auth: Auth, march: None) -> None:
    report = get(client, auth, "daily", **MARCH)
    assert report["date_from"] == "2026-03-01" and report["date_to"] == "2026-03-31"
    assert [
        (r["day"], r["outlet_id"], r["sales_count"], r["items_sold"], r["gross_minor"], r["tax_minor"], r["net_minor"])
        for r in report["rows"]
    ] == [
        ("2026-03-10", A, 2, 4, 4600, 600, 4000),
        ("2026-03-11", A, 1, 3, 3000, 0, 3000),
    ]
    assert report["totals"] == {
        "sales_count": 3,
        "items_sold": 7,
        "gross_minor": 7600,
        "tax_minor": 600,
        "net_minor": 7000,
    }

    everything = get(client, auth, "daily", role="admin", outlets=[], **MARCH)
    assert [(r["day"], r["outlet_id"]) for r in everything["rows"]] == [
        ("2026-03-10", A),
        ("2026-03-10", B),
        ("2026-03-11", A),
    ]
    assert everything["totals"]["gross_minor"] == 13600
    only_b = get(client, auth, "daily", role="admin", outlets=[], outlet_id=B, **MARCH)
    assert [r["outlet_id"] for r in only_b["rows"]] == [B]
    one_day = get(client, auth, "daily", date_from="2026-03-11", date_to="2026-03-11")
    assert one_day["totals"]["sales_count"] == 1


def test_item_report_sums_over_the_range_by_gross(
    client: TestClient, consumer: EventConsumer, auth: Auth, march: None
) -> None:
    rows = get(client, auth, "items", **MARCH)["rows"]
    assert rows == [
        {"product_id": "p2", "sku": "SKU-p2", "name": "=HYPERLINK(1)", "qty": 4, "gross_minor": 4000},
        {"product_id": "p1", "sku": "SKU-p1", "name": "Coffee", "qty": 3, "gross_minor": 3600},
    ]
    assert get(client, auth, "items", limit="1", **MARCH)["rows"][0]["product_id"] == "p2"
    # The catalog's current name wins once the product is renamed.
    feed(
        consumer,
        ProductChanged(product_id="p1", sku="SKU-p1", name="Espresso", price_minor=1200, currency="EUR"),
        "catalog",
    )
    assert get(client, auth, "items", **MARCH)["rows"][1]["name"] == "Espresso"


def test_tender_report(client: TestClient, auth: Auth, march: None) -> None:
    assert get(client, auth, "tenders", **MARCH)["rows"] == [
        {"kind": "card", "amount_minor": 4000, "count": 2},
        {"kind": "cash", "amount_minor": 3600, "count": 2},
    ]


def test_csv_downloads(client: TestClient, auth: Auth, march: None) -> None:
    r = client.get("/api/reports/sales/daily", params={**MARCH, "format": "csv"}, headers=auth())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="sales-daily_2026-03-01_2026-03-31.csv"'
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["day", "outlet_id", "sales_count", "items_sold", "gross_minor", "tax_minor", "net_minor"],
        ["2026-03-10", A, "2", "4", "4600", "600", "4000"],
        ["2026-03-11", A, "1", "3", "3000", "0", "3000"],
    ]

    r = client.get("/api/reports/sales/items", params={**MARCH, "format": "csv"}, headers=auth())
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["product_id", "sku", "name", "qty", "gross_minor"],
        ["p2", "SKU-p2", "'=HYPERLINK(1)", "4", "4000"],  # a formula is written as text
        ["p1", "SKU-p1", "Coffee", "3", "3600"],
    ]

    r = client.get("/api/reports/sales/tenders", params={**MARCH, "format": "csv"}, headers=auth())
    assert "attachment" in r.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["kind", "amount_minor", "count"],
        ["card", "4000", "2"],
        ["cash", "3600", "2"],
    ]

    empty = client.get(
        "/api/reports/sales/tenders",
        params={"date_from": "2025-01-01", "date_to": "2025-01-02", "format": "csv"},
        headers=auth(),
    )
    assert list(csv.reader(io.StringIO(empty.text))) == [["kind", "amount_minor", "count"]]


def test_default_range_ends_today(client: TestClient, consumer: EventConsumer, auth: Auth) -> None:
    now = datetime.now(UTC).isoformat()
    feed(consumer, sale("today", A, now, [line(1, "p1", 1, 500, 0)], [("cash", 500)]))
    report = get(client, auth, "daily")
    assert report["date_to"] == now[:10]
    assert [r["day"] for r in report["rows"]] == [now[:10]]


@pytest.mark.parametrize("path", ["daily", "items", "tenders"])
def test_who_may_see_what(client: TestClient, auth: Auth, march: None, path: str) -> None:
    url = f"/api/reports/sales/{path}"
    assert client.get(url, params=MARCH).status_code == 401
    assert client.get(url, params=MARCH, headers=auth("cashier")).status_code == 403
    assert client.get(url, params={**MARCH, "outlet_id": B}, headers=auth("manager", [A])).status_code == 404
    assert client.get(url, params={**MARCH, "outlet_id": B}, headers=auth("manager", [B])).status_code == 200
    assert client.get(url, params={**MARCH, "outlet_id": A}, headers=auth("manager", [B])).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-03-31", "date_to": "2026-03-01"},
        {"date_from": "2025-01-01", "date_to": "2026-01-02"},
        {"date_from": "2026-02-30"},
        {"format": "xlsx"},
    ],
)
def test_bad_ranges_are_refused(client: TestClient, auth: Auth, params: dict[str, str]) -> None:
    r = client.get("/api/reports/sales/daily", params=params, headers=auth())
    assert r.status_code == 422, r.text


def test_a_full_leap_year_is_allowed(client: TestClient, auth: Auth) -> None:
    assert get(client, auth, "daily", date_from="2028-01-01", date_to="2028-12-31")["rows"] == []


def test_replicas_and_ignored_events(client: TestClient, consumer: EventConsumer) -> None:
    from sqlalchemy import select

    from pos_reports.tables import outlets, products

    assert feed(consumer, OutletCreated(outlet_id=A, name="Main Street", currency="EUR"), "identity")
    assert feed(
        consumer,
        ProductCreated(product_id="p1", sku="S1", name="Tea", price_minor=100, cost_minor=40, currency="EUR"),
        "catalog",
    )
    assert feed(
        consumer,
        ProductChanged(
            product_id="p1",
            sku="S1",
            name="Green tea",
            price_minor=100,
            cost_minor=45,
            category_id="c1",
            currency="EUR",
        ),
        "catalog",
    )
    payment = PaymentCaptured(payment_id="x", sale_id="s", outlet_id=A, currency="EUR", amount_minor=1, tenders=[])
    assert feed(consumer, payment, "payments") is False  # no handler: acked and ignored
    with client.app.state.ctx.db.transaction() as uow:
        assert [tuple(r) for r in uow.session.execute(select(outlets))] == [(A, "Main Street", "EUR")]
        assert [tuple(r) for r in uow.session.execute(select(products))] == [("p1", "S1", "Green tea", 45, "c1")]


def test_malformed_timestamp_is_poison(client: TestClient, consumer: EventConsumer, auth: Auth) -> None:
    with pytest.raises(PoisonMessage):
        feed(consumer, sale("bad", A, "yesterday", [line(1, "p1", 1, 500, 0)], [("cash", 500)]))
    assert get(client, auth, "daily", **MARCH)["rows"] == []
    # Rolled back with the handler, so a fixed redelivery would still be processed.
    envelope = new_envelope(
        sale("ok", A, "2026-03-05T10:00:00Z", [line(1, "p1", 1, 500, 0)], [("cash", 500)]), producer="sales"
    )
    assert consumer.handle(envelope) is True
