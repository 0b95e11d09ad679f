"""Restocking alerts that alert (issue 17): a product under its reorder point shows on the
manager's dashboard (a tile across their outlets, linking to the low-stock list) and as a
count on the back office menu's Low stock, without opening the list outlet by outlet."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.browser.conftest import Server, Shop, Tab
from tests.browser.helpers import expect_text

pytestmark = pytest.mark.browser


def test_a_product_under_its_reorder_point_shows_on_the_dashboard_and_in_the_menu(
    open_tab: Callable[..., Tab], server: Server, shop: Shop
) -> None:
    manager_token = server.token(*shop.manager)
    with server.client(manager_token) as http:
        put = http.put(
            "/api/inventory",
            json={"outlet_id": shop.outlet_id, "product_id": shop.scarce.id, "reorder_point": shop.scarce.stock + 3},
        )
        assert put.status_code == 200 and put.json()["low"] is True, put.text
        summary = http.get("/api/inventory/low-stock/summary").json()
    assert summary["low"] >= 1

    page = open_tab(1280, 800).login(*shop.manager)
    page.locator("#reports-title").wait_for()
    lines = f"{summary['low']} {'line' if summary['low'] == 1 else 'lines'} to reorder"
    expect_text(page.get_by_test_id("low-stock-tile"), rf"^{re.escape(lines)}")
    expect_text(page.get_by_test_id("low-stock-count"), rf"^{summary['low']}")
    page.get_by_test_id("low-stock-tile").click()
    page.get_by_role("heading", name=re.compile("Low stock"), level=1).wait_for()
    expect_text(page.locator("main"), re.escape(shop.scarce.name))
