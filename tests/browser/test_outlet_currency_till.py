"""The till of an outlet in Swiss francs, in a real browser (issue 16, ADR 0075): the
catalog prices in euros; the product with a franc shelf price at this outlet is shown,
charged and printed in francs; one without is refused when tapped, with what to do.

The fixture makes its own outlet (in CHF, in identity), a cashier, two products and the
franc shelf price through the API, so it runs against the embedded server or the stack."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import expect_text, line

pytestmark = pytest.mark.browser

FRANCS = r"(CHF\s?52\.90|52\.90\s?CHF)"


@pytest.fixture(scope="module")
def franc_shop(server: Server) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        outlet = admin.post("/api/identity/outlets", json={"name": f"Lake Kiosk {suffix}", "currency": "CHF"})
        assert outlet.status_code == 201, outlet.text
        outlet_id = outlet.json()["id"]
        email, password = f"franc-cashier-{suffix.lower()}@example.com", f"{secrets.token_urlsafe(12)}-Aa1"
        user = {"email": email, "name": f"Kim Cashier {suffix}", "password": password, "role": "cashier", "outlets": [outlet_id]}
        assert admin.post("/api/identity/users", json=user).status_code == 201
        products = {}
        for key, name in (("lamp", "Brass lamp"), ("vase", "Glass vase")):
            body = {"sku": f"CHF-{suffix}-{key.upper()}", "name": f"{name} {suffix}", "price_minor": 4990, "barcodes": []}
            products[key] = stocked_product(admin, outlet_id, body, 5, "franc till tests")
        lamp = products["lamp"]
        put = admin.put(f"/api/catalog/products/{lamp['id']}/prices/{outlet_id}", json={"price_minor": 5290})
        assert put.status_code == 200 and put.json()["currency"] == "CHF", put.text
        eventually(
            lambda: admin.get(f"/api/sales/prices/{lamp['id']}", params={"outlet_id": outlet_id}).json().get("currency") == "CHF",
            "sales to take the franc shelf price",
        )
        eventually(
            lambda: admin.get(f"/api/sales/outlets/{outlet_id}/settings").json().get("currency") == "CHF",
            "sales to take the outlet's currency",
        )
    return {"outlet_id": outlet_id, "cashier": (email, password), **products}


def test_the_till_of_a_franc_outlet_sells_in_francs(open_tab: Callable[..., Tab], franc_shop: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = open_tab(1280, 800).login(*franc_shop["cashier"])
    page.get_by_test_id("till").wait_for()
    lamp, vase = franc_shop["lamp"], franc_shop["vase"]

    search = page.get_by_test_id("till-search")
    search.fill(lamp["sku"])
    tile = page.locator(f'[data-testid=search-results] [data-sku="{lamp["sku"]}"]')
    expect_text(tile, FRANCS)
    tile.click()
    expect_text(line(page, lamp["id"]), re.escape(lamp["name"]))
    expect_text(page.get_by_test_id("cart-total"), FRANCS)

    # The vase has no franc price here: refused, saying what to do.
    search.fill(vase["sku"])
    page.locator(f'[data-testid=search-results] [data-sku="{vase["sku"]}"]').click()
    expect_text(
        page.get_by_test_id("till-message"),
        re.escape("is priced in EUR, but")
        + ".*"
        + re.escape("Ask a manager to set a shelf price in CHF for this outlet (Back office → Products → outlet price)."),
    )
    expect(line(page, vase["id"])).to_have_count(0)

    page.keyboard.press("F4")
    page.get_by_test_id("cash-input").fill("60")
    page.get_by_test_id("complete-cash").click()
    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-total"), FRANCS)
    expect_text(receipt, re.escape(lamp["name"]))
