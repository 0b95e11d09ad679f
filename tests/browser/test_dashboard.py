"""The back-office dashboard in a real browser, as a manager would check it: each outlet's
gross against the previous period, the stock on hand valued at cost, and the product
ranking picker (gross / quantity, top / bottom sellers), at a phone's width and a desktop's.

The fixture makes two outlets of its own (a manager of those two only, so the dashboard's
"All my outlets" holds nothing but this test's figures), products with a known cost price,
stock received and sales rung through the API, and waits for the reports to follow."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import csv_download, dashboard, euros, expect_text, overflow

pytestmark = pytest.mark.browser

# name, price (tax included), cost price, outlet ("east"/"west"), received, sold per sale
PRODUCTS = {
    "rye": ("Rye loaf", 400, 150, "east", 10),
    "oat": ("Oat cookie", 120, 45, "east", 8),
    "seed": ("Seed bar", 150, 60, "west", 20),
    "honey": ("Honey jar", 700, 0, "west", 3),  # no cost price: counted in units, worth nothing
}
SALES = {  # outlet -> sales, each a list of (product, qty)
    "east": [[("rye", 3), ("oat", 2)], [("rye", 1)]],
    "west": [[("seed", 6)]],
}


@dataclass(frozen=True)
class Chain:
    """Two outlets of our own with known sales and stock, and their manager."""

    manager: tuple[str, str]
    outlets: dict[str, tuple[str, str]]  # "east"/"west" -> (id, name)
    names: dict[str, str]  # product key -> name
    gross: dict[str, int]  # outlet key -> gross sold
    sales: dict[str, int]  # outlet key -> number of sales
    units: dict[str, int]  # outlet key -> units on hand after the sales
    value: dict[str, int]  # outlet key -> sum of on hand x cost price


def _expected() -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    gross = {o: sum(PRODUCTS[p][1] * q for sale in sales for p, q in sale) for o, sales in SALES.items()}
    count = {o: len(sales) for o, sales in SALES.items()}
    sold = {p: sum(q for sales in SALES.values() for sale in sales for k, q in sale if k == p) for p in PRODUCTS}
    on_hand = {p: PRODUCTS[p][4] - sold[p] for p in PRODUCTS}
    units = {o: sum(on_hand[p] for p in PRODUCTS if PRODUCTS[p][3] == o) for o in SALES}
    value = {o: sum(on_hand[p] * PRODUCTS[p][2] for p in PRODUCTS if PRODUCTS[p][3] == o) for o in SALES}
    return gross, count, units, value


@pytest.fixture(scope="module")
def chain(server: Server) -> Chain:
    suffix = uuid.uuid4().hex[:6].upper()
    admin = server.client(server.token(server.admin_email, server.admin_password))
    with admin:
        outlets = {}
        for key, label in (("east", "East Bakery"), ("west", "West Bakery")):
            made = admin.post("/api/identity/outlets", json={"name": f"{label} {suffix}", "currency": "EUR"})
            assert made.status_code == 201, made.text
            outlets[key] = (made.json()["id"], made.json()["name"])
        email = f"dash-manager-{suffix.lower()}@example.com"
        password = f"{secrets.token_urlsafe(12)}-Aa1"
        made = admin.post(
            "/api/identity/users",
            json={
                "email": email,
                "name": "Dana Manager",
                "password": password,
                "role": "manager",
                "outlets": [o[0] for o in outlets.values()],
            },
        )
        assert made.status_code == 201, made.text
        ids, names = {}, {}
        for key, (name, price, cost, outlet, stock) in PRODUCTS.items():
            names[key] = f"{name} {suffix}"
            product = stocked_product(
                admin,
                outlets[outlet][0],
                {
                    "sku": f"DSH-{suffix}-{key.upper()}",
                    "name": names[key],
                    "price_minor": price,
                    "cost_minor": cost,
                    "tax_class": "reduced",
                },
                stock,
                "dashboard tests",
            )
            ids[key] = product["id"]
        for key, product_id in ids.items():
            eventually(lambda p=product_id: admin.get(f"/api/sales/prices/{p}").status_code == 200, f"sales to know {key}")
        for outlet, sales in SALES.items():
            for lines in sales:
                total = sum(PRODUCTS[p][1] * q for p, q in lines)
                sale = admin.post(
                    "/api/sales",
                    json={
                        "id": str(uuid.uuid4()),
                        "outlet_id": outlets[outlet][0],
                        "lines": [{"product_id": ids[p], "qty": q} for p, q in lines],
                        "tenders": [{"kind": "cash", "amount_minor": total}],
                    },
                )
                assert sale.status_code == 201, sale.text
                assert sale.json()["total_minor"] == total

    gross, count, units, value = _expected()
    chain = Chain((email, password), outlets, names, gross, count, units, value)
    with server.client(server.token(email, password)) as http:
        _wait_for_reports(http, chain)
    return chain


def _wait_for_reports(http: httpx.Client, chain: Chain) -> None:
    """The reports follow the events within seconds: wait until they hold every sale and
    every stock movement (the sales took stock at inventory, which told reports)."""
    by_id = {outlet_id: key for key, (outlet_id, _) in chain.outlets.items()}

    def sold() -> bool:
        rows = http.get("/api/reports/sales/outlets").json()["rows"]
        return {by_id[r["outlet_id"]]: r["gross_minor"] for r in rows} == chain.gross

    def stocked() -> bool:
        rows = http.get("/api/reports/stock/valuation").json()["rows"]
        return {by_id[r["outlet_id"]]: (r["units"], r["value_minor"]) for r in rows} == {
            o: (chain.units[o], chain.value[o]) for o in chain.outlets
        }

    def ranked() -> bool:
        rows = http.get("/api/reports/sales/items", params={"sort": "qty", "order": "asc", "limit": 10}).json()["rows"]
        return [r["qty"] for r in rows] == [2, 4, 6]

    eventually(sold, "the outlets report to hold the sales")
    eventually(stocked, "the stock valuation to follow the receipts and sales")
    eventually(ranked, "the product ranking to hold the sales")


@pytest.mark.parametrize(("width", "height", "name"), [(375, 812, "phone"), (1280, 800, "desktop")])
def test_outlets_compared_and_stock_value_at_cost(
    open_tab: Callable[..., Tab], chain: Chain, screenshots: Path, width: int, height: int, name: str
) -> None:
    from playwright.sync_api import expect

    page = dashboard(open_tab(width, height), chain.manager, "outlets-panel")

    # Outlets compared: best gross first, each with its gross as sold, its sales, its
    # average sale, and "new" (nothing was sold in the 30 days before).
    compared = page.get_by_role("list", name="Outlets by gross sales, against the previous period")
    rows = compared.get_by_test_id("outlet-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-outlet-id", chain.outlets["east"][0])
    expect(rows.nth(1)).to_have_attribute("data-outlet-id", chain.outlets["west"][0])
    for key, (outlet_id, outlet_name) in chain.outlets.items():
        row = compared.locator(f'[data-testid=outlet-row][data-outlet-id="{outlet_id}"]')
        expect_text(row, re.escape(outlet_name))
        expect(row.get_by_test_id("outlet-gross")).to_have_text(euros(chain.gross[key]))
        sales = chain.sales[key]
        expect(row.get_by_test_id("outlet-sales")).to_have_text(f"{sales} {'sale' if sales == 1 else 'sales'}")
        average = (2 * chain.gross[key] + sales) // (2 * sales)
        expect_text(row, rf"average\s+{re.escape(euros(average))}")
        expect(row.get_by_test_id("outlet-change")).to_have_text("new")
        expect(row).to_have_attribute("data-trend", "new")
        expect_text(row, "no sales before")

    # Stock value at cost, now: units on hand and on hand x cost price, per outlet; the
    # product without a cost price is said, and the totals add up.
    table = page.get_by_role("table", name="Stock value at cost by outlet")
    for key, (outlet_id, _) in chain.outlets.items():
        row = table.locator(f'tr[data-outlet-id="{outlet_id}"]')
        expect(row.get_by_test_id("stock-units")).to_have_text(str(chain.units[key]))
        expect(row.get_by_test_id("stock-at-cost")).to_have_text(euros(chain.value[key]))
    expect_text(table.locator(f'tr[data-outlet-id="{chain.outlets["west"][0]}"]'), "1 without a cost price")
    expect(table.locator(f'tr[data-outlet-id="{chain.outlets["east"][0]}"]')).not_to_contain_text("without a cost price")
    total = page.get_by_role("list", name="Stock value totals per currency").get_by_test_id("stock-total")
    expect(total).to_have_count(1)
    expect_text(total, rf"{sum(chain.units.values())} units · {re.escape(euros(sum(chain.value.values())))}")

    # Nothing runs off the side of a phone.
    wider = overflow(page)
    assert wider <= 0, f"the dashboard is {wider}px wider than the {width}px screen"
    page.get_by_test_id("outlets-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"dashboard-outlets-stock-{name}.png"), full_page=True)

    # The stock value's CSV: one row per outlet by name, with the same units and the value
    # as a decimal with its currency (the JSON keeps minor units).
    name, rows_csv = csv_download(page, page.get_by_role("button", name="CSV of stock value"))
    assert name.startswith("stock-valuation")
    assert {r["outlet"]: (int(r["units"]), r["value"], r["currency"]) for r in rows_csv} == {
        chain.outlets[o][1]: (chain.units[o], f"{chain.value[o] // 100}.{chain.value[o] % 100:02d}", "EUR") for o in chain.outlets
    }
    assert "outlet_id" not in rows_csv[0]


def test_ranking_picker_reranks_the_products_alone(open_tab: Callable[..., Tab], chain: Chain) -> None:
    from playwright.sync_api import expect

    page = dashboard(open_tab(1280, 800), chain.manager, "outlets-panel")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/api/" in request.url else None)

    # By gross, top sellers: the rye loaf (4 x €4.00) before the seed bars (6 x €1.50).
    first = page.get_by_role("list", name="Top items by gross sales").get_by_role("listitem").first
    expect_text(first, re.escape(chain.names["rye"]))
    expect_text(first, rf"{re.escape(euros(1600))}\s*· 4 sold")

    # By quantity: the seed bars come first, the figure a count, not money.
    page.get_by_test_id("rank-by").select_option("qty")
    first = page.get_by_role("list", name="Top items by quantity").get_by_role("listitem").first
    expect_text(first, re.escape(chain.names["seed"]))
    expect_text(first, rf"6 sold\s*· {re.escape(euros(900))}")

    # Bottom sellers by quantity: the oat cookies (2 sold) first, the seed bars last.
    page.get_by_test_id("rank-order").select_option("asc")
    bottom = page.get_by_role("list", name="Bottom items by quantity").get_by_role("listitem")
    expect_text(bottom.first, re.escape(chain.names["oat"]))
    expect_text(bottom.first, r"2 sold")
    expect_text(bottom.last, re.escape(chain.names["seed"]))
    expect(page.get_by_role("heading", name="Bottom items")).to_be_visible()

    # Only the ranking was asked again, not the whole dashboard.
    reloaded = [url for url in asked if "/api/reports/" in url]
    assert reloaded and all("/api/reports/sales/items" in url for url in reloaded), reloaded
    assert any("sort=qty" in url and "order=asc" in url for url in reloaded), reloaded

    # The CSV of the items is ranked the same way: the oat cookies first.
    _, rows = csv_download(page, page.get_by_role("button", name="CSV of items"))
    assert [r["name"] for r in rows] == [chain.names["oat"], chain.names["rye"], chain.names["seed"]]
    assert [int(r["qty"]) for r in rows] == [2, 4, 6]
