"""Purchase orders and suppliers (issue 17, ADR 0071), as a manager does it on the
Purchase orders page: add a supplier, link two products to it, draft an order from the
outlet's low stock, raise a quantity and set a cost, e-mail it (the SMTP sink receives
it), receive part of one line, then the rest; stock on hand moves with each receipt."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Shop, Tab, stocked_product
from tests.browser.helpers import accessibility_problems, expect_text, on_hand
from tests.polling import eventually
from tests.smtp_sink import read_mail, text_of

pytestmark = pytest.mark.browser


def test_a_manager_orders_low_stock_from_a_supplier_and_receives_it_in_two_deliveries(
    open_tab: Callable[..., Tab], server: Server, shop: Shop, screenshots: Path
) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    supplier, supplier_email = f"Roastery {suffix}", f"orders-{suffix.lower()}@roastery.example"
    manager = server.token(*shop.manager)
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        beans = stocked_product(
            admin, shop.outlet_id, {"sku": f"PO-{suffix}-B", "name": f"Beans {suffix}", "price_minor": 1200}, 2, "po test"
        )
        filters = stocked_product(
            admin, shop.outlet_id, {"sku": f"PO-{suffix}-F", "name": f"Filters {suffix}", "price_minor": 300}, 1, "po test"
        )
    with server.client(manager) as http:
        for product, point, qty in ((beans, 5, 10), (filters, 4, 0)):  # suggested: 10, and 4 (to rise above 4)
            put = http.put(
                "/api/inventory",
                json={"outlet_id": shop.outlet_id, "product_id": product["id"], "reorder_point": point, "reorder_qty": qty},
            )
            assert put.status_code == 200 and put.json()["low"], put.text

    tab = open_tab(1280, 800)
    page = tab.login(*shop.manager)
    tab.open("/#/office/purchase-orders")
    page.get_by_role("heading", name="Purchase orders", level=1).wait_for()

    # A supplier, and the two products it supplies.
    page.get_by_label("Name", exact=True).fill(supplier)
    page.get_by_label("E-mail for orders").fill(supplier_email)
    page.get_by_role("button", name="+ Add supplier").click()
    expect_text(page.get_by_test_id("supplier-done"), re.escape(f"{supplier} added."))
    for product in (beans, filters):
        page.get_by_label(f"Link a product to {supplier}").fill(product["sku"])
        page.get_by_role("button", name=re.compile(re.escape(product["name"]))).click()
        expect_text(page.get_by_test_id("supplier-done"), re.escape(f"{supplier} supplies {product['name']}."))

    # Drafted from the low stock: 10 beans, 4 filters. 12 beans at 3.40, then e-mailed.
    page.get_by_label("Supplier", exact=True).select_option(label=supplier)
    page.get_by_role("button", name="Draft from low stock").click()
    dialog = page.get_by_test_id("po-dialog")
    expect_text(page.get_by_test_id("po-done"), r"PO-\d{6} drafted: 14 units of 2 products")
    drafted = re.search(r"PO-\d{6}", page.get_by_test_id("po-done").inner_text())
    assert drafted is not None  # expect_text saw it
    number = drafted.group(0)
    assert dialog.get_by_label(f"Quantity of {beans['name']}").input_value() == "10"
    assert dialog.get_by_label(f"Quantity of {filters['name']}").input_value() == "4"
    dialog.get_by_label(f"Quantity of {beans['name']}").fill("12")
    dialog.get_by_label(f"Unit cost of {beans['name']}").fill("3.40")
    expect_text(dialog, re.escape("Total: €40.80"))
    problems = accessibility_problems(page, "purchase order, draft")
    assert problems == [], "\n".join(problems)
    dialog.get_by_role("button", name=f"E-mail to {supplier}").click()
    expect_text(page.get_by_test_id("po-done"), re.escape(f"{number} e-mailed to {supplier} ({supplier_email})."))
    expect_text(dialog.get_by_test_id("po-status"), "^sent$")
    if server.mail_dir is not None:
        mail_dir = server.mail_dir

        def mailed() -> list[EmailMessage] | None:
            return [m for m in read_mail(mail_dir) if supplier_email in str(m["To"])] or None

        (message,) = eventually(mailed, "the purchase order in the mail sink")
        assert str(message["Subject"]) == f"Purchase order {number} from {shop.outlet_name}"
        assert "Total: 40.80 EUR" in text_of(message)

    # First delivery: 5 of the 12 beans and every filter.
    dialog.get_by_label(f"Arrived now of {beans['name']}").fill("5")
    dialog.get_by_role("button", name="Record receipt").click()
    expect_text(page.get_by_test_id("po-done"), re.escape("9 units received into") + r".*7 units still to come")
    expect_text(dialog.get_by_test_id("po-status"), "^partly received$")
    page.screenshot(path=str(screenshots / "office-purchase-order-desktop.png"))
    row = dialog.locator(f'[data-testid=po-line][data-name="{beans["name"]}"]')
    expect_text(row.get_by_test_id("po-on-hand"), "^7$")
    assert on_hand(server, manager, shop.outlet_id, filters["id"]) == 5

    # The rest.
    assert dialog.get_by_label(f"Arrived now of {beans['name']}").input_value() == "7"
    dialog.get_by_role("button", name="Record receipt").click()
    expect_text(page.get_by_test_id("po-done"), re.escape(f"7 units received into {shop.outlet_name}: {number} is complete."))
    expect_text(dialog.get_by_test_id("po-status"), "^received$")
    assert on_hand(server, manager, shop.outlet_id, beans["id"]) == 14
    dialog.get_by_role("button", name="Close window").click()
    expect_text(page.locator(f'[data-testid=po-row][data-number="{number}"]'), re.escape("received"))
