"""The till and back office in a real browser (Debian's Chromium), through the same
origin the users get: a full cash sale, an out-of-stock refusal, and screenshots at
phone and desktop widths (test-results/screenshots/, shown in docs/web.md).

Refunds are not tested here yet: there is no refund API to drive (see docs/web.md)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Shop, Tab, eventually
from tests.browser.helpers import euros, expect_text, line, on_hand

pytestmark = pytest.mark.browser


def scan(page: Any, code: str) -> None:
    """A keyboard-wedge scanner: the digits at machine speed, then Enter, wherever focus is."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_full_cash_sale_and_stock_in_back_office(open_tab: Callable[..., Tab], server: Server, shop: Shop) -> None:
    manager_token = server.token(*shop.manager)
    before = {p.id: on_hand(server, manager_token, shop.outlet_id, p.id) for p in (shop.scanned, shop.searched)}

    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    # One outlet: the cashier lands straight at the till.
    page.get_by_test_id("till").wait_for()
    expect_text(page.get_by_test_id("current-outlet"), re.escape(shop.outlet_name))

    # Scan with focus on the page body, twice: two of the same line.
    page.locator("body").click(position={"x": 5, "y": 790})
    scan(page, shop.scanned.barcode)
    expect_text(line(page, shop.scanned.id), re.escape(shop.scanned.name))
    scan(page, shop.scanned.barcode)
    from playwright.sync_api import expect

    expect(line(page, shop.scanned.id).get_by_test_id("line-qty")).to_have_value("2")
    expect_text(line(page, shop.scanned.id).get_by_test_id("line-stock"), rf"{shop.scanned.stock} in stock")

    # Search by SKU and tap the result.
    search = page.get_by_test_id("till-search")
    search.fill(shop.searched.sku)
    tile = page.locator(f'[data-testid=search-results] [data-sku="{shop.searched.sku}"]')
    tile.click()
    expect_text(line(page, shop.searched.id), re.escape(shop.searched.name))

    # A scan while the search box has focus still adds the product, and leaves the box clean.
    search.fill("")
    search.focus()
    scan(page, shop.scanned.barcode)
    expect(line(page, shop.scanned.id).get_by_test_id("line-qty")).to_have_value("3")
    expect(search).to_have_value("")
    line(page, shop.scanned.id).get_by_role("button", name=f"One less {shop.scanned.name}").click()
    expect(line(page, shop.scanned.id).get_by_test_id("line-qty")).to_have_value("2")

    total = 2 * shop.scanned.price_minor + shop.searched.price_minor
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(total)))

    # Pay cash with F4, €20 handed over.
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    expect_text(dialog.get_by_test_id("pay-total"), re.escape(euros(total)))
    page.get_by_test_id("cash-input").fill("20")
    expect_text(page.get_by_test_id("change-due"), re.escape(euros(2000 - total)))
    page.get_by_test_id("complete-cash").click()

    receipt = page.get_by_test_id("receipt")
    expect_text(page.get_by_test_id("change-amount"), re.escape(euros(2000 - total)))
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(2000 - total)))
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(total)))
    expect_text(receipt, re.escape(shop.scanned.name))
    expect_text(receipt, re.escape(shop.searched.name))
    receipt_number = receipt.get_by_test_id("receipt-number").inner_text().strip()
    assert receipt_number

    # Next sale: the cart is empty again.
    page.get_by_test_id("new-sale").click()
    expect_text(page.get_by_test_id("cart-count"), "empty")

    # The manager's back office: stock down by what was sold (on hand moves when the
    # sale's event is processed, so the page is refreshed until it shows).
    office = open_tab(1280, 800).login(*shop.manager)
    office.goto(f"{server.base_url}/#/office/stock")
    office.get_by_label("Outlet").select_option(shop.outlet_id)
    sold = {shop.scanned.id: 2, shop.searched.id: 1}
    for product_id, qty in sold.items():
        cell = office.locator(f'[data-testid=stock-row][data-product-id="{product_id}"] [data-testid=on-hand]')

        def shows_expected(cell: Any = cell, want: int = before[product_id] - qty) -> bool:
            if cell.count() and cell.inner_text().strip() == str(want):
                return True
            office.get_by_role("button", name="Refresh").click()
            office.wait_for_timeout(300)
            return False

        eventually(shows_expected, f"the back office to show {before[product_id] - qty} on hand", timeout=30, every=0.5)

    # And the sale is listed with its receipt number; a reprint is printed as a numbered
    # copy (sales counts it), not as a second original.
    office.goto(f"{server.base_url}/#/office/sales")
    expect_text(office.get_by_test_id("sales-table"), re.escape(receipt_number))
    # Count print dialogs instead of opening them (a function is called by evaluate: wrap it).
    office.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
    office.get_by_test_id("sales-table").get_by_role("row").filter(has_text=receipt_number).get_by_role(
        "button", name="Open"
    ).click()
    office.get_by_role("button", name="Reprint (copy)").click()
    expect_text(office.get_by_test_id("receipt-copy"), "COPY 1")
    assert office.evaluate("window.__printed") == 1
    office.get_by_role("button", name="Reprint (copy)").click()
    expect_text(office.get_by_test_id("receipt-copy"), "COPY 2")


def test_out_of_stock_refusal_is_shown_to_the_cashier(open_tab: Callable[..., Tab], server: Server, shop: Shop) -> None:
    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    page.get_by_test_id("till-search").fill(shop.scarce.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{shop.scarce.sku}"]').click()
    row = line(page, shop.scarce.id)
    expect_text(row.get_by_test_id("line-stock"), rf"{shop.scarce.stock} in stock")

    # One more than there is: the line warns before paying ...
    qty = row.get_by_test_id("line-qty")
    qty.fill(str(shop.scarce.stock + 1))
    qty.press("Tab")
    expect_text(row.get_by_test_id("line-stock"), rf"Only {shop.scarce.stock} in stock")

    # ... and the sale is refused by the server, naming the product.
    page.get_by_test_id("pay-button").click()
    page.keyboard.press("F9")  # exact cash
    page.get_by_test_id("complete-cash").click()
    message = page.get_by_test_id("till-message")
    expect_text(message, "Not enough stock")
    expect_text(message.get_by_test_id("short-lines"), rf"{re.escape(shop.scarce.name)}: only {shop.scarce.stock} in stock")
    expect_text(message, "Nothing was sold or charged")
    # The cart is kept for the cashier to fix; nothing left the shelf.
    from playwright.sync_api import expect

    expect(row).to_be_visible()
    manager_token = server.token(*shop.manager)
    assert on_hand(server, manager_token, shop.outlet_id, shop.scarce.id) == shop.scarce.stock

    # Lowering the quantity lets the sale through.
    qty.fill(str(shop.scarce.stock))
    qty.press("Tab")
    page.get_by_test_id("pay-button").click()
    page.keyboard.press("F9")
    page.keyboard.press("Enter")
    expect_text(page.get_by_test_id("receipt"), re.escape(shop.scarce.name))


def _sell_by_api(server: Server, shop: Shop, lines: list[tuple[str, int]], cash_minor: int) -> None:
    token = server.token(*shop.cashier)
    with server.client(token) as http:
        response = http.post(
            "/api/sales",
            json={
                "id": str(uuid.uuid4()),
                "outlet_id": shop.outlet_id,
                "lines": [{"product_id": p, "qty": q} for p, q in lines],
                "tenders": [{"kind": "cash", "amount_minor": cash_minor}],
            },
        )
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(("width", "height", "name"), [(360, 740, "phone"), (1280, 800, "desktop")])
def test_screenshots_of_till_and_dashboard(
    open_tab: Callable[..., Tab], server: Server, shop: Shop, screenshots: Path, width: int, height: int, name: str
) -> None:
    # Something on the dashboard: a sale made through the API, visible once reports has it.
    _sell_by_api(server, shop, [(shop.extra.id, 2), (shop.searched.id, 1)], 1000)
    manager_token = server.token(*shop.manager)
    with server.client(manager_token) as http:
        eventually(
            lambda: http.get("/api/reports/sales/daily", params={"outlet_id": shop.outlet_id}).json().get("rows"),
            "the sale to reach the reports",
        )

    # The till with a sale in progress.
    tab = open_tab(width, height)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("category-grid").wait_for()
    scan(page, shop.extra.barcode)
    scan(page, shop.scanned.barcode)
    if width < 600:  # a phone shows the sale's lines in a view of their own
        expect_text(page.get_by_test_id("view-sale"), r"Sale · 2 items")
        page.get_by_test_id("view-sale").click()
    line(page, shop.scanned.id).wait_for()
    page.wait_for_timeout(1200)  # the "added" highlight fades
    page.screenshot(path=str(screenshots / f"till-{name}.png"))

    # Paying: quick amounts and the change, big.
    page.get_by_test_id("pay-button").click()
    page.get_by_test_id("quick-amount").nth(2).click()
    page.get_by_test_id("change-due").wait_for()
    page.screenshot(path=str(screenshots / f"till-pay-{name}.png"))

    # The dashboard, as the manager.
    office = open_tab(width, height).login(*shop.manager)
    office.goto(f"{server.base_url}/#/office/reports")
    expect_text(office.get_by_test_id("kpi-count"), r"[1-9]")
    office.get_by_role("heading", name="Top items").wait_for()
    office.wait_for_timeout(300)
    office.screenshot(path=str(screenshots / f"dashboard-{name}.png"), full_page=True)
    for file in ("till", "till-pay", "dashboard"):
        assert (screenshots / f"{file}-{name}.png").stat().st_size > 5_000


def test_lost_answer_is_retried_with_the_same_sale_id(open_tab: Callable[..., Tab], server: Server, shop: Shop) -> None:
    """The network drops the server's answer to POST /api/sales (the sale went through).
    The till retries by itself with the same sale id, gets the same sale back, and the
    stock is taken once."""
    manager_token = server.token(*shop.manager)
    before = on_hand(server, manager_token, shop.outlet_id, shop.extra.id)
    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    posted: list[dict[str, Any]] = []

    def drop_first_answer(route: Any) -> None:
        posted.append(route.request.post_data_json)
        if len(posted) == 1:
            route.fetch()  # the server completes the sale ...
            route.abort("connectionreset")  # ... and the answer is lost on the way back
        else:
            route.continue_()

    page.route("**/api/sales", drop_first_answer)
    scan(page, shop.extra.barcode)
    line(page, shop.extra.id).wait_for()
    page.keyboard.press("F4")
    page.keyboard.press("F9")
    page.keyboard.press("Enter")
    expect_text(page.get_by_test_id("receipt"), re.escape(shop.extra.name))
    assert len(posted) == 2, posted
    assert posted[0] == posted[1], "the retry must be the very same request, sale id included"
    page.unroute("**/api/sales")

    token = server.token(*shop.cashier)
    with server.client(token) as http:
        sale = http.get(f"/api/sales/{posted[0]['id']}").json()
    assert sale["status"] == "COMPLETED"
    assert sale["receipt_number"] == page.get_by_test_id("receipt-number").inner_text().strip()
    # On hand moves when the sale's event is processed: wait for it, then make sure it
    # moved once only.
    eventually(lambda: on_hand(server, manager_token, shop.outlet_id, shop.extra.id) == before - 1, "stock to be taken")
    page.wait_for_timeout(1000)
    assert on_hand(server, manager_token, shop.outlet_id, shop.extra.id) == before - 1


def test_enter_typed_ahead_of_the_search_adds_the_product_of_what_was_typed(
    open_tab: Callable[..., Tab], server: Server, shop: Shop
) -> None:
    """A cashier who types a SKU and presses Enter at once (faster than the search's
    debounce) gets that product, not a match of what they typed before."""
    from playwright.sync_api import expect

    page = open_tab(1280, 800).login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    search = page.get_by_test_id("till-search")
    # One product found for an earlier query and shown...
    search.fill(shop.scanned.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{shop.scanned.sku}"]').wait_for()
    # ...then another SKU typed and Enter pressed straight away.
    search.fill(shop.searched.sku)
    search.press("Enter")
    expect_text(line(page, shop.searched.id), re.escape(shop.searched.name))
    expect(line(page, shop.scanned.id)).to_have_count(0)
    expect(search).to_have_value("")
    # And typed ahead with nothing shown before.
    search.fill(shop.extra.sku)
    search.press("Enter")
    expect_text(line(page, shop.extra.id), re.escape(shop.extra.name))
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
