"""A note at the till when a sale takes an item under its reorder point (issue 17): after
a completed sale the till says "Running low: <name> — N left (reorder at P)" for the sold
products now at or under their reorder point at the outlet; a sale that leaves them above
it shows none; the note is dismissed with one tap and blocks nothing."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Server, Shop, Tab, ean13, eventually, stocked_product
from tests.browser.helpers import euros, expect_text, line

pytestmark = pytest.mark.browser

STOCK, REORDER_AT = 8, 5


@pytest.fixture(scope="module")
def beans(server: Server, shop: Shop) -> dict[str, Any]:
    """A product of our own at the browser shop's outlet: 8 in stock, reorder at 5."""
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        product = stocked_product(
            admin,
            shop.outlet_id,
            {
                "sku": f"LOW-{suffix}",
                "name": f"Espresso beans {suffix}",
                "barcodes": [ean13("2" + str(secrets.randbelow(10**11)).zfill(11))],
                "price_minor": 500,
                "tax_class": "reduced",
            },
            STOCK,
            "low-stock note test",
        )
        eventually(lambda: admin.get(f"/api/sales/prices/{product['id']}").status_code == 200, "sales to know the beans")
    with server.client(server.token(*shop.manager)) as manager:
        put = manager.put(
            "/api/inventory", json={"outlet_id": shop.outlet_id, "product_id": product["id"], "reorder_point": REORDER_AT}
        )
        assert put.status_code == 200 and put.json()["low"] is False, put.text
    return product


def sell(page: Any, product: dict[str, Any], qty: int) -> Any:
    """Sell `qty` of the product for exact cash; the answer of the till's low-stock request."""
    from playwright.sync_api import expect

    search = page.get_by_test_id("till-search")
    search.fill(product["sku"])
    page.locator(f'[data-testid=search-results] [data-sku="{product["sku"]}"]').click()
    expect_text(line(page, product["id"]), re.escape(product["name"]))
    line(page, product["id"]).get_by_test_id("line-qty").fill(str(qty))
    line(page, product["id"]).get_by_test_id("line-qty").press("Tab")
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(qty * product["price_minor"])))
    page.keyboard.press("F4")
    page.get_by_test_id("cash-input").fill(str(qty * product["price_minor"] // 100))
    with page.expect_response(lambda r: re.search(r"/api/inventory/outlets/[^/]+/sales/[^/]+/low-stock$", r.url)) as answer:
        page.get_by_test_id("complete-cash").click()
        expect(page.get_by_test_id("receipt")).to_be_visible()
    page.keyboard.press("n")  # next sale: the receipt closes
    expect(page.get_by_test_id("receipt")).to_be_hidden()
    return answer.value


def test_a_sale_under_the_reorder_point_leaves_a_note_and_one_above_does_not(
    open_tab: Callable[..., Tab], shop: Shop, beans: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    page = open_tab(1280, 800).login(*shop.cashier)
    page.get_by_test_id("till").wait_for()

    # 8 - 2 = 6 left: above the reorder point, no note.
    answer = sell(page, beans, 2)
    assert answer.status == 200 and answer.json()["lines"] == [], answer.text()
    expect(page.get_by_test_id("low-stock-note")).to_have_count(0)

    # 6 - 2 = 4 left: under it (whether or not the deduction has happened yet).
    answer = sell(page, beans, 2)
    assert answer.status == 200, answer.text()
    note = page.get_by_test_id("low-stock-note")
    expect_text(note, re.escape(f"Running low: {beans['name']} — 4 left (reorder at {REORDER_AT})"))

    # Not blocking: the next sale goes on with the note showing; one tap dismisses it.
    search = page.get_by_test_id("till-search")
    search.fill(beans["sku"])
    page.locator(f'[data-testid=search-results] [data-sku="{beans["sku"]}"]').click()
    expect_text(line(page, beans["id"]), re.escape(beans["name"]))
    expect(note).to_be_visible()
    note.get_by_test_id("low-stock-dismiss").click()
    expect(page.get_by_test_id("low-stock-note")).to_have_count(0)
