"""The back office in a real browser (Debian's Chromium), as a manager or an admin:
the product CSV import (a bad row imports nothing; a good file fills the progress bar
and its products appear), a transfer between two outlets (stock moves on both sides),
an admin adding a register to an outlet, and a closed shift's Z-report.

The fixture makes its own two outlets, a manager of both, products with stock, a
register and a closed shift through the API, so the tests run against any server."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import euros, expect_text, on_hand

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Office:
    """Two outlets of our own, a manager of both, products, and a closed shift."""

    suffix: str
    outlet_a: tuple[str, str]  # (id, name)
    outlet_b: tuple[str, str]
    manager: tuple[str, str]
    moved: tuple[str, str, str]  # (product id, sku, name): stocked at A, transferred to B
    moved_stock: int
    register: tuple[str, str]  # (id, name) at outlet A
    shift_id: str
    shift_float: int
    shift_sales: int  # total of the shift's one cash sale
    shift_counted: int


@pytest.fixture(scope="module")
def office(server: Server) -> Office:
    suffix = uuid.uuid4().hex[:6].upper()
    admin = server.client(server.token(server.admin_email, server.admin_password))
    with admin:
        outlets = []
        for label in ("North", "South"):
            made = admin.post("/api/identity/outlets", json={"name": f"{label} Deli {suffix}", "currency": "EUR"})
            assert made.status_code == 201, made.text
            outlets.append((made.json()["id"], made.json()["name"]))
        email = f"office-manager-{suffix.lower()}@example.com"
        password = f"{secrets.token_urlsafe(12)}-Aa1"
        made = admin.post(
            "/api/identity/users",
            json={
                "email": email,
                "name": "Robin Manager",
                "password": password,
                "role": "manager",
                "outlets": [o[0] for o in outlets],
            },
        )
        assert made.status_code == 201, made.text
        sku = f"OFC-{suffix}-MOVE"
        stock = 20
        product = stocked_product(
            admin,
            outlets[0][0],
            {"sku": sku, "name": f"Sourdough loaf {suffix}", "price_minor": 450, "tax_class": "reduced"},
            stock,
            "office tests",
        )

        # A register at outlet A, and a shift on it: opened with a float, one cash sale
        # rung on the register, closed 50 cents short.
        register = admin.post("/api/identity/registers", json={"outlet_id": outlets[0][0], "name": f"Till {suffix}"})
        assert register.status_code == 201, register.text
        register = register.json()
        eventually(lambda: admin.get(f"/api/sales/prices/{product['id']}").status_code == 200, "sales to know the product")
        shift_id, float_minor = str(uuid.uuid4()), 10_000
        opened = admin.post(
            "/api/sales/shifts",
            json={"id": shift_id, "outlet_id": outlets[0][0], "register_id": register["id"], "opening_float_minor": float_minor},
        )
        assert opened.status_code == 201, opened.text
        sale = admin.post(
            "/api/sales",
            json={
                "id": str(uuid.uuid4()),
                "outlet_id": outlets[0][0],
                "register_id": register["id"],
                "lines": [{"product_id": product["id"], "qty": 2}],
                "tenders": [{"kind": "cash", "amount_minor": 1000}],
            },
        )
        assert sale.status_code == 201, sale.text
        total = sale.json()["total_minor"]
        assert total == 900
        counted = float_minor + total - 50
        closed = admin.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": counted})
        assert closed.status_code == 200, closed.text
        # The sale took 2 from outlet A (once inventory has consumed SaleCompleted).
        eventually(
            lambda: admin.get(f"/api/inventory/stock/{outlets[0][0]}/{product['id']}").json()["on_hand"] == stock - 2,
            "the sale to be deducted from stock",
        )
    return Office(
        suffix=suffix,
        outlet_a=outlets[0],
        outlet_b=outlets[1],
        manager=(email, password),
        moved=(product["id"], sku, product["name"]),
        moved_stock=stock - 2,
        register=(register["id"], register["name"]),
        shift_id=shift_id,
        shift_float=float_minor,
        shift_sales=total,
        shift_counted=counted,
    )


def office_page(tab: Tab, server: Server, who: tuple[str, str], name: str) -> Any:
    """Log in and open a back-office page by its sub-navigation link."""
    from playwright.sync_api import expect

    page = tab.login(*who)
    # Managers land on the dashboard: wait for it before moving on, and for it to be gone
    # after, so its outlet filter is never mistaken for the next page's.
    page.locator("#reports-title").wait_for()
    page.get_by_role("navigation", name="Back office").get_by_role("link", name=name, exact=True).click()
    if name != "Dashboard":
        expect(page.locator("#reports-title")).to_have_count(0)
    return page


def products_with_sku_prefix(server: Server, token: str, prefix: str) -> list[dict[str, Any]]:
    with server.client(token) as http:
        response = http.get("/api/catalog/products", params={"q": prefix, "limit": 100, "include_archived": True})
        response.raise_for_status()
        return [p for p in response.json()["items"] if p["sku"].startswith(prefix)]


def upload(page: Any, name: str, text: str) -> None:
    page.get_by_label("CSV file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": text.encode()})
    page.get_by_test_id("start-import").click()


def test_csv_import_bad_row_imports_nothing_good_file_imports_all(
    open_tab: Callable[..., Tab], server: Server, office: Office, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    token = server.token(*office.manager)
    prefix = f"IMP-{office.suffix}-"
    tab = open_tab(1280, 800)
    page = office_page(tab, server, office.manager, "Products")
    page.get_by_role("button", name="Import CSV…").click()
    dialog = page.get_by_test_id("import-dialog")

    # Row 3 has a price in euros instead of cents: the whole file is refused.
    bad = (
        "sku,name,price_minor,category\r\n"
        f"{prefix}1,Rye crackers,325,Bakery {office.suffix}\r\n"
        f"{prefix}2,Seeded rolls,12.50,Bakery {office.suffix}\r\n"
    )
    upload(page, "bad.csv", bad)
    expect_text(dialog.get_by_test_id("import-failed"), "Nothing was imported")
    error_row = dialog.get_by_test_id("import-errors").locator('tr[data-row="3"][data-column="price_minor"]')
    expect(error_row).to_be_visible()
    expect_text(error_row, "whole number")
    page.screenshot(path=str(screenshots / "office-import-errors-desktop.png"))
    # All or nothing: not even the good first row exists.
    assert products_with_sku_prefix(server, token, prefix) == []

    good = (
        "sku,name,price_minor,barcodes,category,tax_class\r\n"
        f"{prefix}1,Rye crackers,325,,Bakery {office.suffix},reduced\r\n"
        f"{prefix}2,Seeded rolls,1250,,Bakery {office.suffix},reduced\r\n"
        f"{prefix}3,Oat biscuits,299,,Bakery {office.suffix},standard\r\n"
    )
    upload(page, "good.csv", good)
    done = dialog.get_by_test_id("import-done")
    expect_text(done, r"Imported 3 rows: 3 created")
    bar = dialog.get_by_test_id("import-progress")
    expect(bar).to_have_attribute("max", "3")
    expect(bar).to_have_attribute("value", "3")
    expect_text(dialog.locator("label[for=import-progress]"), "Done: 3 of 3 rows")
    dialog.get_by_role("button", name="Close", exact=True).last.click()

    # The products are in the list (searched by their SKU prefix) and in the catalog.
    page.get_by_label("Search").fill(prefix)
    table = page.get_by_test_id("products-table")
    for sku, name, price in (
        (f"{prefix}1", "Rye crackers", 325),
        (f"{prefix}2", "Seeded rolls", 1250),
        (f"{prefix}3", "Oat biscuits", 299),
    ):
        row = table.locator(f'tr[data-sku="{sku}"]')
        expect_text(row, re.escape(name))
        expect_text(row, re.escape(euros(price)))
    imported = {p["sku"]: p["price_minor"] for p in products_with_sku_prefix(server, token, prefix)}
    assert imported == {f"{prefix}1": 325, f"{prefix}2": 1250, f"{prefix}3": 299}


def test_transfer_between_outlets_moves_stock_on_both_sides(open_tab: Callable[..., Tab], server: Server, office: Office) -> None:
    from playwright.sync_api import expect

    token = server.token(*office.manager)
    product_id, sku, name = office.moved
    (a, a_name), (b, b_name) = office.outlet_a, office.outlet_b
    before_a, before_b = on_hand(server, token, a, product_id), on_hand(server, token, b, product_id)
    n = 7

    tab = open_tab(1280, 800)
    page = office_page(tab, server, office.manager, "Transfers")
    page.get_by_role("button", name="+ New transfer").click()
    dialog = page.get_by_test_id("transfer-dialog")
    dialog.get_by_label("From", exact=True).select_option(label=a_name)
    dialog.get_by_label("To", exact=True).select_option(label=b_name)
    dialog.get_by_label("Add a product").fill(sku)
    dialog.get_by_role("button", name=re.compile(r"^\+ " + re.escape(name))).click()
    quantity = dialog.get_by_label(f"Quantity of {name} to transfer")
    # The source's available stock is shown next to the line.
    expect(dialog.get_by_test_id("transfer-available")).to_have_text(str(before_a))
    quantity.fill(str(n))
    dialog.get_by_role("button", name="Create and send").click()

    expect_text(
        page.get_by_test_id("transfer-done"), rf"Sent: {n} units of 1 product from {re.escape(a_name)} to {re.escape(b_name)}"
    )
    eventually(lambda: on_hand(server, token, a, product_id) == before_a - n, f"{n} units to leave {a_name}")
    assert on_hand(server, token, b, product_id) == before_b

    row = page.get_by_test_id("transfer-row").filter(has_text=name).first
    expect_text(row.get_by_test_id("transfer-status"), "in transit")
    row.get_by_role("button", name="Receive…").click()
    receive = page.get_by_test_id("receive-transfer-dialog")
    expect(receive.get_by_label(f"Received of {name}")).to_have_value(str(n))
    receive.get_by_role("button", name="Record receipt").click()
    expect_text(page.get_by_test_id("transfer-done"), rf"Received into {re.escape(b_name)}: {n} units in stock")
    expect_text(row.get_by_test_id("transfer-status"), "received")

    assert on_hand(server, token, a, product_id) == before_a - n
    assert on_hand(server, token, b, product_id) == before_b + n


def test_admin_adds_a_register_to_an_outlet(open_tab: Callable[..., Tab], server: Server, office: Office) -> None:
    from playwright.sync_api import expect

    outlet_id, outlet_name = office.outlet_b
    register_name = f"Counter {office.suffix}"
    tab = open_tab(1280, 800)
    page = office_page(tab, server, (server.admin_email, server.admin_password), "Outlets")
    # The admin's menu, the longest (sixteen sections), has every section in view at
    # 1280 x 800: none off the side of a strip that scrolls sideways.
    menu = page.get_by_role("navigation", name="Back office")
    assert menu.evaluate("nav => nav.scrollWidth <= nav.clientWidth")
    boxes = [link.bounding_box() for link in menu.get_by_role("link").all()]
    assert len(boxes) == 16
    assert all(b is not None and b["x"] >= 0 and b["x"] + b["width"] <= 1280 and b["y"] + b["height"] <= 800 for b in boxes), (
        boxes
    )
    registers = page.get_by_test_id("registers")
    registers.get_by_label("Registers of outlet").select_option(label=outlet_name)
    expect_text(registers.get_by_test_id("registers-table"), "No registers yet")
    registers.get_by_label("New register name").fill(register_name)
    registers.get_by_role("button", name="Add register").click()
    expect_text(registers, rf"Register {re.escape(register_name)} added to {re.escape(outlet_name)}")
    row = registers.get_by_test_id("registers-table").locator("tr", has_text=register_name)
    expect(row).to_be_visible()
    expect_text(row, "in use")

    with server.client(server.token(server.admin_email, server.admin_password)) as http:
        listed = http.get("/api/identity/registers", params={"outlet_id": outlet_id}).json()
    assert [(r["name"], r["active"]) for r in listed] == [(register_name, True)]

    # Switching it off is kept too.
    row.get_by_role("button", name="Switch off").click()
    expect_text(row, "switched off")
    with server.client(server.token(server.admin_email, server.admin_password)) as http:
        listed = http.get("/api/identity/registers", params={"outlet_id": outlet_id}).json()
    assert [(r["name"], r["active"]) for r in listed] == [(register_name, False)]


@pytest.mark.parametrize(("width", "height", "name"), [(360, 740, "phone"), (1280, 800, "desktop")])
def test_shifts_view_shows_a_closed_shift_z_report(
    open_tab: Callable[..., Tab], server: Server, office: Office, screenshots: Path, width: int, height: int, name: str
) -> None:
    from playwright.sync_api import expect

    tab = open_tab(width, height)
    page = office_page(tab, server, office.manager, "Shifts")
    page.get_by_label("Outlet").select_option(label=office.outlet_a[1])
    row = page.locator(f'[data-testid=shift-row][data-shift-id="{office.shift_id}"]')
    expect_text(row, "closed")
    expect_text(row, re.escape(office.register[1]))
    expect_text(row, re.escape(euros(office.shift_counted)))
    expect_text(row, "Short")
    row.get_by_role("button", name=re.compile("^Z-report")).click()

    report = page.get_by_test_id("z-report")
    expected = office.shift_float + office.shift_sales
    expect_text(report, "Z-REPORT")
    expect_text(report.get_by_test_id("z-sales-total"), re.escape(euros(office.shift_sales)))
    expect_text(report.get_by_test_id("z-net"), re.escape(euros(office.shift_sales)))
    expect_text(report.get_by_test_id("z-expected"), re.escape(euros(expected)))
    expect_text(report.get_by_test_id("z-counted"), re.escape(euros(office.shift_counted)))
    expect_text(report.get_by_test_id("z-over-short"), re.escape(euros(office.shift_counted - expected)))
    expect_text(report.get_by_test_id("z-verdict"), "Short by")
    expect(page.get_by_test_id("z-report-dialog").get_by_role("button", name="Print")).to_be_visible()
    page.screenshot(path=str(screenshots / f"office-z-report-{name}.png"))


def test_dashboard_shows_sales_by_register_and_cashier(open_tab: Callable[..., Tab], server: Server, office: Office) -> None:
    """The fixture's cash sale on its register: the dashboard names the register (from
    identity) with the sale's total, and the cashier who rang it."""
    register_name = office.register[1]
    tab = open_tab(1280, 800)
    page = office_page(tab, server, office.manager, "Dashboard")
    # By its id: once the charts are drawn, "Outlet" is also in "CSV by outlet" and others.
    page.get_by_test_id("reports-outlet").select_option(label=office.outlet_a[1])
    by_register = page.get_by_role("list", name="Gross sales by register")

    def shown() -> bool:
        # Reports follow the events within seconds: ask again until the sale is in.
        page.get_by_role("button", name="Show").click()
        page.wait_for_timeout(500)
        return by_register.count() > 0 and register_name in by_register.inner_text()

    eventually(shown, "the dashboard to list the register", timeout=30, every=1.0)
    expect_text(by_register, rf"{re.escape(register_name)} · {re.escape(office.outlet_a[1])}")
    expect_text(by_register, rf"{re.escape(euros(office.shift_sales))}\s*· 1 sales")
    expect_text(page.get_by_role("list", name="Gross sales by cashier"), r"Administrator")


def test_stock_count_posts_the_difference(open_tab: Callable[..., Tab], server: Server, office: Office) -> None:
    token = server.token(*office.manager)
    product_id, sku, name = office.moved
    outlet_id, outlet_name = office.outlet_a
    before = on_hand(server, token, outlet_id, product_id)

    tab = open_tab(1280, 800)
    page = office_page(tab, server, office.manager, "Counts")
    page.get_by_label("Outlet").select_option(label=outlet_name)
    page.get_by_label("Note for a new count").fill(f"Shelf check {office.suffix}")
    page.get_by_role("button", name="Start a count").click()
    count = page.get_by_test_id("count")
    count.get_by_label("Product", exact=True).fill(sku)
    count.get_by_role("button", name=re.compile("^" + re.escape(name))).click()
    count.get_by_label(f"Counted {name}").fill(str(before - 1))
    count.get_by_role("button", name="Record").click()
    line = count.get_by_test_id("count-lines").locator("tr", has_text=name)
    expect_text(line, rf"{before}\s*{before - 1}\s*-1")
    count.get_by_role("button", name="Post the differences…").click()
    count.get_by_role("button", name="Yes, post it").click()
    expect_text(page.get_by_role("status").filter(has_text="Count posted"), r"1 product corrected \(0 units up, 1 down\)")
    assert on_hand(server, token, outlet_id, product_id) == before - 1


def test_receive_goods_adds_to_on_hand(open_tab: Callable[..., Tab], server: Server, office: Office) -> None:
    """A delivery received on the Stock page: found by SKU, 5 units, on hand up by 5."""
    token = server.token(*office.manager)
    product_id, sku, name = office.moved
    outlet_id, outlet_name = office.outlet_b
    before = on_hand(server, token, outlet_id, product_id)

    tab = open_tab(1280, 800)
    page = office_page(tab, server, office.manager, "Stock")
    page.get_by_label("Outlet").select_option(label=outlet_name)
    page.get_by_role("button", name="+ Receive goods").click()
    dialog = page.get_by_test_id("receive-dialog")
    dialog.get_by_label("Add a product").fill(sku)
    dialog.get_by_label("Add a product").press("Enter")  # the only match is added
    dialog.get_by_label(f"Quantity of {name}").fill("5")
    dialog.get_by_role("button", name="Receive 1 line").click()
    expect_text(
        page.get_by_role("status").filter(has_text="Received"), rf"Received 5 units of 1 product into {re.escape(outlet_name)}"
    )
    assert on_hand(server, token, outlet_id, product_id) == before + 5


def test_outlet_price_on_the_product_form(open_tab: Callable[..., Tab], server: Server, office: Office) -> None:
    from playwright.sync_api import expect

    token = server.token(*office.manager)
    product_id, sku, name = office.moved
    outlet_id, outlet_name = office.outlet_b

    def own_prices() -> dict[str, int]:
        with server.client(token) as http:
            response = http.get(f"/api/catalog/products/{product_id}/prices")
            response.raise_for_status()
            return {p["outlet_id"]: p["price_minor"] for p in response.json()}

    tab = open_tab(1280, 800)
    page = office_page(tab, server, office.manager, "Products")
    page.get_by_label("Search").fill(sku)
    page.get_by_role("button", name=f"Edit {name}").click()
    row = page.get_by_test_id("outlet-prices").locator(f'tr[data-outlet-id="{outlet_id}"]')
    expect_text(row.get_by_test_id("outlet-price-now"), "catalog price")
    row.get_by_label(f"Price at {outlet_name}").fill("3.99")
    row.get_by_role("button", name="Set price").click()
    expect_text(page.get_by_test_id("outlet-prices"), rf"{re.escape(outlet_name)} now sells .* at €3\.99")
    expect_text(row.get_by_test_id("outlet-price-now"), r"€3\.99")
    assert own_prices() == {outlet_id: 399}

    row.get_by_role("button", name="Use catalog price").click()
    expect_text(row.get_by_test_id("outlet-price-now"), "catalog price")
    expect(row.get_by_role("button", name="Use catalog price")).to_have_count(0)
    assert own_prices() == {}


def test_an_outlet_price_is_entered_in_the_outlets_currency(open_tab: Callable[..., Tab], server: Server) -> None:
    """A manager of an outlet in Swiss francs (the catalog prices in euros) sees that the
    product has no franc price there, enters one in francs, and it is stored in francs
    (ADR 0075)."""
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        made = admin.post("/api/identity/outlets", json={"name": f"Lake Kiosk {suffix}", "currency": "CHF"})
        assert made.status_code == 201, made.text
        outlet_id, outlet_name = made.json()["id"], made.json()["name"]
        email, password = f"franc-manager-{suffix.lower()}@example.com", f"{secrets.token_urlsafe(12)}-Aa1"
        user = {"email": email, "name": "Franc Manager", "password": password, "role": "manager", "outlets": [outlet_id]}
        assert admin.post("/api/identity/users", json=user).status_code == 201
        product = admin.post(
            "/api/catalog/products", json={"sku": f"CHF-{suffix}", "name": f"Lamp {suffix}", "price_minor": 4990}
        ).json()
    assert product["currency"] == "EUR"
    token = server.token(email, password)

    tab = open_tab(1280, 800)
    page = office_page(tab, server, (email, password), "Products")
    page.get_by_label("Search").fill(product["sku"])
    page.get_by_role("button", name=f"Edit {product['name']}").click()
    row = page.get_by_test_id("outlet-prices").locator(f'tr[data-outlet-id="{outlet_id}"]')
    expect_text(row.get_by_test_id("outlet-price-now"), "no price in CHF")
    expect_text(row.get_by_test_id("outlet-price-currency"), "CHF")
    row.get_by_label(f"Price at {outlet_name} in CHF").fill("52.90")
    row.get_by_role("button", name="Set price").click()
    francs = r"(CHF\s?52\.90|52\.90\s?CHF)"
    expect_text(page.get_by_test_id("outlet-prices"), rf"{re.escape(outlet_name)} now sells .* at {francs}")
    expect_text(row.get_by_test_id("outlet-price-now"), francs)
    with server.client(token) as http:
        listed = http.get(f"/api/catalog/products/{product['id']}/prices").raise_for_status().json()
    assert [(p["outlet_id"], p["price_minor"], p["currency"]) for p in listed] == [(outlet_id, 5290, "CHF")]


def test_admin_switches_a_user_off_and_changes_their_outlets(
    open_tab: Callable[..., Tab], server: Server, office: Office
) -> None:
    admin_token = server.token(server.admin_email, server.admin_password)
    email = f"office-cashier-{office.suffix.lower()}@example.com"
    with server.client(admin_token) as http:
        made = http.post(
            "/api/identity/users",
            json={
                "email": email,
                "name": f"Kim Cashier {office.suffix}",
                "password": f"{secrets.token_urlsafe(12)}-Aa1",
                "role": "cashier",
                "outlets": [office.outlet_a[0]],
            },
        )
        assert made.status_code == 201, made.text
        user_id = made.json()["id"]

    tab = open_tab(1280, 800)
    page = office_page(tab, server, (server.admin_email, server.admin_password), "Users")
    page.get_by_role("button", name=f"Edit Kim Cashier {office.suffix}").click()
    dialog = page.get_by_test_id("user-edit")
    dialog.get_by_label(office.outlet_b[1]).check()
    dialog.get_by_role("button", name="Save").click()
    expect_text(page.get_by_role("status").filter(has_text="saved"), rf"Kim Cashier {office.suffix} saved")

    def user() -> dict[str, Any]:
        with server.client(admin_token) as http:
            return http.get(f"/api/identity/users/{user_id}").json()

    assert sorted(user()["outlets"]) == sorted([office.outlet_a[0], office.outlet_b[0]])

    page.get_by_role("button", name=f"Edit Kim Cashier {office.suffix}").click()
    dialog.get_by_role("button", name="Switch off").click()
    row = page.get_by_test_id("users-table").locator("tr", has_text=email)
    expect_text(row, "switched off")
    assert user()["active"] is False
