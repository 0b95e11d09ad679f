"""Issue 15 in Chromium through the stack: the back office's list of sync exceptions.
A till sends three sales it took offline (as its queue does, POST /api/sales/offline):
one at a price below the shelf price, one of more tea than the shelf had, one sent 30 h
after it was sold. A manager sees each with its register by name, the amounts as money,
what to do, and a link to the sale; resolves one with a note; it leaves the open list
and shows under resolved with the note and who resolved it; the menu's count follows.
At 360 px and 1280 px nothing runs off the side of the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import euros, expect_text, overflow
from tests.browser.test_refund import Item, TillShop, build_till_shop

pytestmark = pytest.mark.browser

REGISTER = "Front till"
REDUCED_BP = 500  # the products' tax class ("reduced")


@pytest.fixture(scope="module")
def sync_shop(server: Server) -> TillShop:
    return build_till_shop(server, registers=(REGISTER,))


def offline_sale(shop: TillShop, number: int, lines: list[tuple[Item, int, int]], sold_at: datetime) -> dict[str, Any]:
    """A sale as the till's offline queue sends it: lines of (item, qty, the price it charged)."""
    body_lines = []
    for item, qty, price in lines:
        total = price * qty
        tax = (total * REDUCED_BP * 2 + (10_000 + REDUCED_BP)) // (2 * (10_000 + REDUCED_BP))  # inside the price, half up
        body_lines.append(
            {
                "product_id": item.id,
                "sku": item.sku,
                "name": item.name,
                "qty": qty,
                "unit_price_minor": price,
                "tax_rate_bp": REDUCED_BP,
                "tax_minor": tax,
                "total_minor": total,
            }
        )
    total = sum(line["total_minor"] for line in body_lines)
    handed = -(-total // 1000) * 1000  # a round note or two
    return {
        "id": str(uuid.uuid4()),
        "outlet_id": shop.outlet_id,
        "register_id": shop.registers[REGISTER],
        "receipt_number": f"R1-OFF{number:06d}",
        "sold_at": sold_at.isoformat().replace("+00:00", "Z"),
        "currency": "EUR",
        "lines": body_lines,
        "total_minor": total,
        "tax_minor": sum(line["tax_minor"] for line in body_lines),
        "tenders": [{"kind": "cash", "amount_minor": total, "tendered_minor": handed}],
        "change_minor": handed - total,
    }


def card(page: Any, kind: str) -> Any:
    return page.locator(f'[data-testid=sync-exception][data-kind="{kind}"]')


def badge(page: Any) -> Any:
    return page.get_by_test_id("sync-exceptions-count")


def open_list(tab: Tab, who: tuple[str, str]) -> Any:
    page = tab.login(*who)
    page.locator("#reports-title").wait_for()
    page.get_by_role("navigation", name="Back office").get_by_role("link", name=re.compile(r"^Sync exceptions")).click()
    page.get_by_test_id("sync-exceptions").wait_for()
    return page


def test_a_manager_works_through_the_sync_exceptions(
    open_tab: Callable[..., Tab], server: Server, sync_shop: TillShop, screenshots: Path
) -> None:
    shop = sync_shop
    manager_token = server.token(*shop.manager)
    cashier_token = server.token(*shop.cashier)

    # Nothing yet: the list says so, and the menu shows no count.
    tab = open_tab(1280, 800)
    page = open_list(tab, shop.manager)
    expect_text(page.get_by_test_id("sync-empty"), r"Nothing to check")
    assert badge(page).count() == 0

    with server.client(cashier_token) as till:
        # The till's register existed long before it went offline: sales knows it.
        probe = {
            "outlet_id": shop.outlet_id,
            "register_id": shop.registers[REGISTER],
            "lines": [{"product_id": shop.tea.id, "qty": 1}],
        }
        eventually(lambda: till.post("/api/sales/quote", json=probe).status_code == 200, "sales to know the register", timeout=60)
        with server.client(manager_token) as http:
            on_shelf = http.get(f"/api/inventory/stock/{shop.outlet_id}/{shop.tea.id}").json()["on_hand"]
        now = datetime.now(UTC).replace(microsecond=0)
        cheaper = shop.coffee.price_minor - 40
        queue = [
            # The till still had the old, lower price of the coffee.
            offline_sale(shop, 1, [(shop.coffee, 2, cheaper)], now - timedelta(minutes=50)),
            # Two more teas left the shop than the shelf had.
            offline_sale(shop, 2, [(shop.tea, on_shelf + 2, shop.tea.price_minor)], now - timedelta(minutes=40)),
            # Sold 30 hours ago: the outlet allows 24 h offline.
            offline_sale(shop, 3, [(shop.coffee, 1, shop.coffee.price_minor)], now - timedelta(hours=30)),
        ]
        for body in queue:
            answer = till.post("/api/sales/offline", json=body)
            assert answer.status_code == 201, answer.text

    with server.client(manager_token) as http:
        eventually(
            lambda: http.get("/api/sales/sync-exceptions/count", params={"outlet_id": shop.outlet_id}).json()["open"] == 3,
            "three open sync exceptions (stock_short comes with inventory's StockDeducted)",
        )

    page.get_by_role("button", name="Refresh").click()
    expect_text(badge(page), r"^3 open$")
    cards = page.get_by_test_id("sync-exception")
    eventually(lambda: cards.count() == 3, "three exceptions listed")

    price = card(page, "price_changed")
    expect_text(price, r"Price changed")
    expect_text(price, re.escape("R1-OFF000001"))
    expect_text(price.get_by_test_id("sync-register"), rf"^{REGISTER}$")
    expect_text(price, re.escape(shop.outlet_name))
    expect_text(
        price.get_by_test_id("sync-findings"),
        re.escape(
            f"{shop.coffee.name} \u00d7 2: the till charged {euros(cheaper)} each, the shelf price is {euros(shop.coffee.price_minor)} "
            f"({euros(80)} less than the shelf price in all)"
        ),
    )
    expect_text(price.get_by_test_id("sync-todo"), r"Confirm the price\. The customer paid the price on their receipt")
    expect_text(price, re.escape(euros(2 * cheaper)))  # the sale's total

    short = card(page, "stock_short")
    expect_text(short, r"Stock was short")
    expect_text(short, re.escape("R1-OFF000002"))
    expect_text(
        short.get_by_test_id("sync-findings"), re.escape(f"{shop.tea.name}: {on_shelf + 2} sold, stock after the sale \u22122")
    )
    expect_text(short.get_by_test_id("sync-todo"), r"Count the shelf")

    late = card(page, "over_offline_limits")
    expect_text(late, r"Past the offline limits")
    expect_text(late.get_by_test_id("sync-findings"), r"Sent 30(\.\d)? h after the sale; the outlet allows 24 h offline")
    expect_text(late.get_by_test_id("sync-todo"), r"Ask why the till was offline that long")

    # Staff see names, never ids: no register, outlet or sale UUID in the text.
    text = page.get_by_test_id("sync-exceptions").inner_text()
    for raw in (shop.registers[REGISTER], shop.outlet_id, *(body["id"] for body in queue)):
        assert raw not in text, f"{raw} shown on the page"
    # Nothing shown in minor units: the findings say €3.00, not 300.
    assert not re.search(rf"\b{cheaper}\b", price.inner_text())
    assert overflow(page) <= 0
    page.screenshot(path=str(screenshots / "office-sync-exceptions-desktop.png"), full_page=True)

    # The receipt number opens the sale in the Sales page; Back returns to the list.
    price.get_by_test_id("sync-open-sale").click()
    dialog = page.get_by_test_id("sale-dialog")
    expect_text(dialog, r"Receipt R1-OFF000001")
    expect_text(dialog, re.escape(euros(2 * cheaper)))
    dialog.get_by_role("button", name="Close", exact=True).last.click()
    page.go_back()
    page.get_by_test_id("sync-exceptions").wait_for()
    eventually(lambda: cards.count() == 3, "the open list again")

    # Resolve the price change: a note is required.
    price.get_by_role("button", name=re.compile(r"^Resolve")).click()
    resolve = page.get_by_test_id("sync-resolve-dialog")
    submit = resolve.get_by_role("button", name="Resolve", exact=True)
    assert submit.is_disabled()
    resolve.get_by_test_id("sync-note-input").fill("   ")
    assert submit.is_disabled()
    note = "Shelf label was out of date; the new price is right. Customer kept the old price."
    resolve.get_by_test_id("sync-note-input").fill(note)
    submit.click()
    expect_text(page.get_by_test_id("sync-resolved-notice"), r"Price changed on receipt R1-OFF000001 resolved")
    eventually(lambda: cards.count() == 2 and card(page, "price_changed").count() == 0, "the resolved one to leave the open list")
    expect_text(badge(page), r"^2 open$")

    page.get_by_role("radio", name="Resolved").check()
    eventually(lambda: cards.count() == 1, "the resolved list")
    resolved = card(page, "price_changed")
    expect_text(resolved.get_by_test_id("sync-resolution"), rf"Resolved by {re.escape(shop.manager_name)} on ")
    expect_text(resolved.get_by_test_id("sync-note"), re.escape(note))
    assert resolved.get_by_role("button", name=re.compile(r"^Resolve")).count() == 0
    page.screenshot(path=str(screenshots / "office-sync-exceptions-resolved-desktop.png"), full_page=True)

    page.get_by_role("radio", name="All").check()
    eventually(lambda: cards.count() == 3, "all three under all")

    with server.client(manager_token) as http:
        stored = http.get("/api/sales/sync-exceptions", params={"outlet_id": shop.outlet_id, "state": "resolved"}).json()
        assert [(e["kind"], e["note"], e["resolved_by_name"]) for e in stored] == [("price_changed", note, shop.manager_name)]
        assert http.get("/api/sales/sync-exceptions/count").json() == {"open": 2}

    # On a phone: the same list, the badge, nothing wider than the screen.
    phone = open_tab(360, 740)
    small = open_list(phone, shop.manager)
    expect_text(badge(small), r"^2 open$")
    small_cards = small.get_by_test_id("sync-exception")
    eventually(lambda: small_cards.count() == 2, "the open list on a phone")
    expect_text(card(small, "stock_short").get_by_test_id("sync-todo"), r"Count the shelf")
    assert overflow(small) <= 0
    small.screenshot(path=str(screenshots / "office-sync-exceptions-phone.png"), full_page=True)
    card(small, "stock_short").get_by_role("button", name=re.compile(r"^Resolve")).click()
    small_dialog = small.get_by_test_id("sync-resolve-dialog")
    small_dialog.get_by_test_id("sync-note-input").fill("Counted the shelf: 0 left, stock corrected.")
    assert overflow(small) <= 0
    small_dialog.get_by_role("button", name="Resolve", exact=True).click()
    eventually(lambda: small_cards.count() == 1, "one left on the phone")
    expect_text(badge(small), r"^1 open$")
