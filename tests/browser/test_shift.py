"""Register shifts in a real browser (Debian's Chromium): a cashier picks the outlet and
the register, sees that no shift is open (without being kept from selling), opens one
with a float, a cash sale is rung on the register, cash goes in and out, the manager
looks at the X-report, the cashier closes with a blind count, and the Z-report shows the
expected cash and the over/short this test works out from what it did.

The sale is rung at the till screen: the till sends the register it is, so the sale
belongs to the open shift and its receipt number runs on that register."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.helpers import euros, expect_text
from tests.browser.test_refund import TillShop, build_till_shop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shift_shop(server: Server) -> TillShop:
    return build_till_shop(server, registers=("Front till", "Back till"), second_outlet=True)


def money_field(amount_minor: int) -> str:
    """How a cashier types an amount: 150.00."""
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def pick_outlet_and_register(page: Any, shop: TillShop, register: str) -> None:
    page.get_by_role("heading", name="Which outlet are you at?").wait_for()
    page.get_by_role("button", name=re.compile(re.escape(shop.outlet_name))).click()
    page.get_by_role("heading", name="Which register is this?").wait_for()
    page.get_by_role("button", name=register, exact=True).click()


def test_open_move_cash_and_blind_close_with_z_report(
    open_tab: Callable[..., Tab], server: Server, shift_shop: TillShop, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    shop = shift_shop
    register_id = shop.registers["Back till"]
    opening_float, cash_in, cash_out = 15_000, 2_000, 5_000

    tab = open_tab(360, 740)
    page = tab.login(*shop.cashier)
    pick_outlet_and_register(page, shop, "Back till")

    # The till sells, and says (without blocking) that no shift is open on this register.
    page.get_by_test_id("till").wait_for()
    expect_text(page.get_by_test_id("current-register"), r"^Back till$")
    banner = page.get_by_test_id("no-shift-banner")
    expect_text(banner, r"No shift open on Back till")
    banner.get_by_role("link", name="Open a shift").click()

    page.get_by_label("Opening float").fill(money_field(opening_float))
    page.get_by_role("button", name="Open shift").click()
    expect_text(page.get_by_test_id("shift-done"), rf"Shift opened with a float of {re.escape(euros(opening_float))}")
    expect_text(page.get_by_test_id("shift-float"), re.escape(euros(opening_float)))

    # Back at the till, the banner is gone.
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Sell").click()
    page.get_by_test_id("till").wait_for()
    expect(page.get_by_test_id("no-shift-banner")).to_have_count(0)

    # A cash sale at the till: 2 coffees and a tea, paid with a €20 note.
    cashier_token = server.token(*shop.cashier)
    sale_total = 2 * shop.coffee.price_minor + shop.tea.price_minor
    for item, taps in ((shop.coffee, 2), (shop.tea, 1)):
        for _ in range(taps):
            page.get_by_test_id("till-search").fill(item.sku)
            page.locator(f'[data-testid=search-results] [data-sku="{item.sku}"]').click()
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(sale_total)))
    page.get_by_test_id("pay-button").click()
    page.get_by_test_id("cash-input").fill("20")
    page.get_by_test_id("complete-cash").click()
    expect_text(page.get_by_test_id("change-amount"), re.escape(euros(2_000 - sale_total)))
    receipt_number = page.get_by_test_id("receipt").get_by_test_id("receipt-number").inner_text().strip()
    page.get_by_test_id("new-sale").click()
    with server.client(cashier_token) as http:
        found = http.get("/api/sales", params={"receipt_number": receipt_number, "outlet_id": shop.outlet_id}).json()["items"]
    assert [(s["register_id"], s["total_minor"]) for s in found] == [(register_id, sale_total)]

    # Cash in (a float top-up) and cash out (a drop to the safe), with reasons.
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Shift").click()
    page.get_by_label("Cash in", exact=True).check()
    page.get_by_label("Amount").fill(money_field(cash_in))
    page.get_by_label("Reason").fill("Float top-up")
    page.get_by_role("button", name="Record cash in").click()
    expect_text(page.get_by_test_id("shift-done"), rf"Recorded: cash in {re.escape(euros(cash_in))} \(Float top-up\)")
    page.get_by_label("Cash out", exact=True).check()
    page.get_by_label("Amount").fill(money_field(cash_out))
    page.get_by_label("Reason").fill("To the safe")
    page.get_by_role("button", name="Record cash out").click()
    expect_text(page.get_by_test_id("shift-done"), rf"Recorded: cash out {re.escape(euros(cash_out))} \(To the safe\)")

    # What the drawer should hold, worked out here from what the test did.
    expected = opening_float + sale_total + cash_in - cash_out
    counted = expected - 40  # the cashier counts 40 cents less: short
    over_short = counted - expected

    # Blind: nothing on the cashier's screen gives the expected amount away.
    expect(page.get_by_test_id("shift-open")).to_be_visible()
    assert "Expected" not in page.locator("main").inner_text()
    assert euros(expected) not in page.locator("main").inner_text()

    # A manager may look at the open shift: the X-report, nothing recorded.
    manager_tab = open_tab(1280, 800)
    mpage = manager_tab.login(*shop.manager)
    mpage.goto(server.base_url + "/#/till/shift")
    pick_outlet_and_register(mpage, shop, "Back till")
    mpage.get_by_role("navigation", name="Till").get_by_role("link", name="Shift").click()
    mpage.get_by_role("button", name="Show X-report").click()
    x_report = mpage.get_by_test_id("x-report")
    expect_text(x_report, r"Shift still open: nothing recorded")
    expect_text(x_report.get_by_test_id("z-expected"), re.escape(euros(expected)))
    expect(x_report.get_by_test_id("z-over-short")).to_have_count(0)
    mpage.screenshot(path=str(screenshots / "shift-x-report-desktop.png"))

    # Close with the count; the Z-report shows expected, counted and over/short.
    page.get_by_label("Counted cash").fill(money_field(counted))
    page.get_by_role("button", name="Close shift…").click()
    confirm = page.get_by_test_id("confirm-close")
    expect_text(confirm, re.escape(euros(counted)))
    confirm.get_by_role("button", name="Close and show the Z-report").click()
    z = page.get_by_test_id("z-report")
    expect_text(z.get_by_test_id("z-sales-count"), r"^1$")
    expect_text(z.get_by_test_id("z-sales-total"), re.escape(euros(sale_total)))
    expect_text(z.get_by_test_id("z-cash-float"), re.escape(euros(opening_float)))
    expect_text(z.get_by_test_id("z-cash-sales"), re.escape(euros(sale_total)))
    expect_text(z.get_by_test_id("z-cash-in"), re.escape(euros(cash_in)))
    expect_text(z.get_by_test_id("z-cash-out"), re.escape(euros(-cash_out)))
    expect_text(z.get_by_test_id("z-expected"), rf"^{re.escape(euros(expected))}$")
    expect_text(z.get_by_test_id("z-counted"), rf"^{re.escape(euros(counted))}$")
    expect_text(z.get_by_test_id("z-over-short"), rf"^{re.escape(euros(over_short))}$")
    expect_text(z.get_by_test_id("z-verdict"), rf"Short by {re.escape(euros(-over_short))}")
    page.get_by_role("button", name="Print Z-report").wait_for()
    page.screenshot(path=str(screenshots / "shift-z-report-phone.png"), full_page=True)

    # The service recorded the same, for good.
    with server.client(server.token(*shop.manager)) as http:
        shifts = http.get("/api/sales/shifts", params={"outlet_id": shop.outlet_id, "register_id": register_id}).json()
        assert len(shifts) == 1
        stored = http.get(f"/api/sales/shifts/{shifts[0]['id']}").json()
    assert stored["status"] == "closed"
    assert stored["opening_float_minor"] == opening_float
    assert stored["counted_cash_minor"] == counted
    assert stored["expected_cash_minor"] == expected
    assert stored["over_short_minor"] == over_short

    # Closed: the till says so again, and the screen offers the next shift.
    expect(page.get_by_role("heading", name="Open the next shift")).to_be_visible()
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Sell").click()
    expect_text(page.get_by_test_id("no-shift-banner"), r"No shift open on Back till")


def test_an_outlet_without_registers_sells_without_and_says_so(open_tab: Callable[..., Tab], server: Server) -> None:
    shop = build_till_shop(server, registers=())
    tab = open_tab(1280, 800)
    page = tab.login(*shop.manager)
    page.goto(server.base_url + "/#/till")
    # No register to pick: straight on to the till, marked "No register", no shift banner.
    page.get_by_test_id("till").wait_for()
    expect_text(page.get_by_test_id("current-register"), r"^No register$")
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Shift").click()
    expect_text(page.get_by_test_id("no-register"), r"Add one in Back office → Registers")
    page.get_by_test_id("current-register").click()
    expect_text(page.get_by_test_id("no-registers"), r"This outlet has no registers.*Add one in Back office → Registers")
