"""Every CSV download's header row, view by view: a spreadsheet or an import script reads
columns by name, so a renamed, moved or dropped column is a change people notice."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from pos_contracts.events import ShiftClosed
from services.reports.tests.builders import line, outlet, sale
from services.reports.tests.conftest import A, Auth
from services.reports.tests.test_reports_handlers import MARCH, march  # noqa: F401 (a fixture)

SALES = (
    "sales_count items_sold gross discount tax net refund_count refund_items refund refund_tax net_after_refunds"
    " average_basket cost refund_cost margin margin_bp"
)
LINES = "qty gross discount tax net refund_qty refund refund_tax net_after_refunds cost refund_cost margin margin_bp"
ITEMS = f"product_id sku name category_id category_name currency {LINES}"
SHIFT = "opening_float expected_cash counted_cash over_short sales_count sales_total refunds_total"
STOCK = "outlet product_id sku name on_hand reorder_point sold daily_velocity days_of_cover suggested_order_qty"

HEADERS = [
    ("sales/daily", {}, f"day outlet currency {SALES} split_count void_count"),
    ("sales/daily", {"by": "day"}, f"day currency {SALES} split_count void_count"),
    ("sales/hourly", {}, f"hour currency {SALES}"),
    (
        "sales/hourly",
        {"by": "day_hour"},
        "currency day hour sales_count items_sold gross net refund net_after_refunds average_basket",
    ),
    ("sales/items", {}, ITEMS),
    ("sales/items", {"limit": "1000", "order": "asc", "include_unsold": "true"}, ITEMS),
    ("sales/categories", {}, f"category_id name currency {LINES}"),
    ("sales/cashiers", {}, f"cashier_id cashier_name currency {SALES} void_count"),
    ("sales/cashiers", {"by": "register"}, f"outlet register currency {SALES} void_count"),
    ("sales/cashiers", {"by": "cashier_register"}, f"cashier_id cashier_name outlet register currency {SALES} void_count"),
    (
        "sales/tenders",
        {},
        "kind amount count currency refund refund_count net captured captured_count payment_refunded payment_refund_count",
    ),
    ("sales/tender-currencies", {}, "outlet kind tender_currency count taken currency amount change average_rate"),
    ("sales/tender-currencies", {"by": "currency"}, "kind tender_currency count taken currency amount change average_rate"),
    ("sales/outlets", {}, f"outlet timezone currency {SALES} previous_gross previous_sales_count gross_change_bp"),
    ("stock/valuation", {}, "outlet currency products_in_stock units value negative_products uncosted_products"),
    ("stock/low", {}, STOCK),
    ("stock/cover", {}, STOCK),
    ("stock/cover", {"reorder_only": "true"}, STOCK),
    ("shifts", {}, f"shift_id outlet register cashier_id cashier_name day opened_at closed_at currency {SHIFT}"),
    ("shifts", {"by": "cashier"}, f"cashier_id cashier_name currency shifts {SHIFT}"),
    ("shifts", {"by": "day"}, f"day outlet currency shifts {SHIFT}"),
    (
        "shifts/cash",
        {},
        "shift_id outlet register cashier_name day closed_at currency own"
        " opening_float sales refunds in out change_given expected counted over_short",
    ),
]


@pytest.mark.usefixtures("march")
@pytest.mark.parametrize(("path", "params", "header"), HEADERS)
def test_each_csv_download_keeps_its_header_row(
    client: TestClient, auth: Auth, path: str, params: dict[str, str], header: str
) -> None:
    r = client.get(f"/api/reports/{path}", params={**MARCH, **params, "format": "csv"}, headers=auth())
    assert r.status_code == 200, r.text
    assert next(csv.reader(io.StringIO(r.text))) == header.split()


def test_every_report_and_view_has_its_header_row_listed(client: TestClient) -> None:
    """A new report, or a new `by` view of one, gets a line in HEADERS (a view left at
    its default is listed without `by`)."""
    views, listed = set(), set()
    for url, operations in client.get("/api/reports/openapi.json").json()["paths"].items():
        parameters = {p["name"]: p["schema"] for p in operations.get("get", {}).get("parameters", [])}
        if "format" in parameters:
            path = url.removeprefix("/api/reports/")
            by = parameters.get("by", {})
            views |= {(path, view) for view in by.get("enum", [None])}
            listed |= {(path, params.get("by", by.get("default"))) for p, params, _ in HEADERS if p == path}
    assert len(views) == 20 and views == listed


REGISTER = "3f2a9c1e-7b4d-4e8a-9c2b-1a2b3c4d5e6f"  # a register made in the office: a UUID


def test_registers_download_by_short_code_and_the_json_keeps_their_ids(
    client: TestClient, auth: Auth, feed: Callable[..., bool]
) -> None:
    """The shift and per-register CSVs name a register as the office app does when it has
    no name for it (identity has not announced it): the first 8 characters of its UUID;
    an id typed by people as typed. The JSON keeps the ids."""
    feed(outlet(A, "Main Street"))
    feed(sale("s1", A, "2026-03-10T09:00:00Z", [line(1, "p1", 1, 1200, 200)], [("cash", 1200)]), register_id=REGISTER)
    feed(sale("s2", A, "2026-03-11T09:00:00Z", [line(1, "p1", 1, 800, 0)], [("cash", 800)]), register_id="till-1")
    for shift_id, register, closed_at in (("z1", REGISTER, "2026-03-10T18:00:00Z"), ("z2", "till-1", "2026-03-11T18:00:00Z")):
        feed(
            ShiftClosed(
                shift_id=shift_id,
                outlet_id=A,
                register_id=register,
                cashier_id="cashier-1",
                currency="EUR",
                opened_at="2026-03-10T07:00:00Z",
                closed_at=closed_at,
                opening_float_minor=10000,
                expected_cash_minor=10000,
                counted_cash_minor=10000,
                over_short_minor=0,
                sales_count=1,
                sales_total_minor=1200,
                refunds_total_minor=0,
            )
        )

    def download(path: str, **params: str) -> list[dict[str, str]]:
        r = client.get(f"/api/reports/{path}", params={**MARCH, **params, "format": "csv"}, headers=auth())
        assert r.status_code == 200, r.text
        assert REGISTER not in r.text
        return list(csv.DictReader(io.StringIO(r.text)))

    assert [(row["outlet"], row["register"], row["gross"]) for row in download("sales/cashiers", by="register")] == [
        ("Main Street", "3f2a9c1e", "12.00"),
        ("Main Street", "till-1", "8.00"),
    ]
    assert [(row["shift_id"], row["outlet"], row["register"]) for row in download("shifts")] == [
        ("z2", "Main Street", "till-1"),
        ("z1", "Main Street", "3f2a9c1e"),
    ]
    assert [row["register"] for row in download("sales/cashiers", by="cashier_register")] == ["3f2a9c1e", "till-1"]
    json_rows = client.get("/api/reports/shifts", params=MARCH, headers=auth()).json()["rows"]
    assert [row["register_id"] for row in json_rows] == ["till-1", REGISTER]
    by_register = client.get("/api/reports/sales/cashiers", params={**MARCH, "by": "register"}, headers=auth()).json()["rows"]
    assert [row["register_id"] for row in by_register] == [REGISTER, "till-1"]
