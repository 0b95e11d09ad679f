"""Issue 15 in Chromium through the stack: the link drops with a cart on the till. The
cashier takes cash; the till prices the sale itself, numbers it R<register>-OFF<n>,
prints TAKEN OFFLINE and shows it waiting to be sent; back online, the queue sends it
by itself, once (the same sale id), and the stock is taken once, below zero where the
shelf had less (listed for the manager)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import expect_text, line
from tests.browser.test_refund import TillShop, build_till_shop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def offline_shop(server: Server) -> TillShop:
    return build_till_shop(server, registers=("Counter",))


def add_by_sku(page: Any, sku: str, product_id: str, name: str) -> None:
    page.get_by_test_id("till-search").fill(sku)
    page.locator(f'[data-testid=search-results] [data-sku="{sku}"]').click()
    expect_text(line(page, product_id), re.escape(name))


def test_a_sale_taken_offline_is_sent_once_when_the_link_is_back(
    open_tab: Callable[..., Tab], server: Server, offline_shop: TillShop
) -> None:
    shop = offline_shop
    manager = server.token(*shop.manager)
    with server.client(manager) as http:
        before = http.get(f"/api/inventory/stock/{shop.outlet_id}/{shop.tea.id}").json()["on_hand"]
    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    # One outlet with one register: the till is that register at once.
    expect_text(page.get_by_test_id("current-register"), r"^Counter$")
    page.get_by_test_id("till").wait_for()
    page.wait_for_timeout(500)  # the outlet's settings are kept for offline use
    for _ in range(before + 1):  # one more than the shelf has
        add_by_sku(page, shop.tea.sku, shop.tea.id, shop.tea.name)
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=20000)
    page.wait_for_timeout(3000)  # the catalogue kept on the till fills in the background
    posted: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: posted.append(r.post_data_json) if r.method == "POST" and r.url.endswith("/api/sales/offline") else None,
    )

    page.context.set_offline(True)
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    page.keyboard.press("F4")
    expect_text(page.get_by_test_id("pay-offline-note"), r"cash only")
    page.keyboard.press("F9")
    page.keyboard.press("Enter")
    number = page.get_by_test_id("receipt-number")
    number.wait_for()
    printed = number.inner_text().strip()
    assert re.fullmatch(r"R\d+-OFF000001", printed)
    expect_text(page.get_by_test_id("receipt-offline"), r"TAKEN OFFLINE")
    page.get_by_test_id("new-sale").click()
    expect_text(page.get_by_test_id("unsynced-count"), r"1 sale not sent yet")

    # Still offline: the page is reloaded (the service worker has the app, IndexedDB the
    # queue and the catalogue), a product is found in the catalogue kept on the till and
    # sold for cash too.
    page.reload()
    expect_text(page.get_by_test_id("unsynced-count"), r"1 sale not sent yet")
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    add_by_sku(page, shop.coffee.sku, shop.coffee.id, shop.coffee.name)
    page.keyboard.press("F4")
    page.keyboard.press("F9")
    page.keyboard.press("Enter")
    expect_text(page.get_by_test_id("receipt-number"), r"^R\d+-OFF000002$")
    page.get_by_test_id("new-sale").click()
    expect_text(page.get_by_test_id("unsynced-count"), r"2 sales not sent yet")
    page.get_by_role("button", name="Log out").click()
    expect_text(page.get_by_test_id("logout-refused"), r"2 sales taken offline are not sent yet")
    page.get_by_test_id("till").wait_for()  # still logged in

    page.context.set_offline(False)
    eventually(
        lambda: not page.get_by_test_id("offline-status").is_visible(),
        "the till to send the sale and say nothing is waiting",
        timeout=60,
    )
    sent = {p["receipt_number"]: p["id"] for p in posted}
    assert len(sent) == 2 and len({p["id"] for p in posted}) == 2, posted
    sale_id = sent[printed]
    with server.client(manager) as http:
        sale = http.get(f"/api/sales/{sale_id}").json()
        assert (sale["status"], sale["receipt_number"]) == ("COMPLETED", printed)
        listed_sales = http.get("/api/sales", params={"outlet_id": shop.outlet_id, "limit": 50}).json()["items"]
        assert sorted(s["receipt_number"] for s in listed_sales) == sorted(sent)
        eventually(
            lambda: http.get(f"/api/inventory/stock/{shop.outlet_id}/{shop.tea.id}").json()["on_hand"] == -1,
            "the stock to be taken, once",
        )
        listed = eventually(
            lambda: http.get("/api/sales/sync-exceptions", params={"outlet_id": shop.outlet_id}).json(),
            "the stock_short exception",
        )
        assert [(e["kind"], e["sale_id"]) for e in listed] == [("stock_short", sale_id)]
