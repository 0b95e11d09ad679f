"""Cash control per currency in a real browser (issue 16, ADR 0063): an outlet that takes
US dollars; the cashier opens the shift with a euro float and a dollar float, takes a
sale in dollars at the till, closes with a blind count per currency (the dollars a
dollar short), and the Z-report's table shows per currency the float, the sales, the
expected and counted cash and the over/short, the dollar shortfall also converted to
euros at the sale's rate, labelled with its source and date. The expected figures are
worked out here from what the test did and the rate the server reports."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from pos_platform.conversion import amount_due_in, exact_conversion, foreign_cash, round_fraction
from tests.browser.conftest import Server, Tab
from tests.browser.helpers import euros, expect_text
from tests.browser.test_refund import TillShop, build_till_shop
from tests.browser.test_shift import money_field

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def usd_shop(server: Server) -> tuple[TillShop, dict[str, str]]:
    shop = build_till_shop(server, registers=("Border till",))
    with server.client(server.token(*shop.manager)) as manager:
        settings = manager.get(f"/api/sales/outlets/{shop.outlet_id}/settings").raise_for_status().json()
        manager.put(
            f"/api/sales/outlets/{shop.outlet_id}/settings", json={**settings, "accepted_currencies": ["USD"]}
        ).raise_for_status()
        rate = manager.get("/api/payments/rates/EUR/USD").raise_for_status().json()
        if not rate["usable"]:
            manager.post("/api/payments/rates/refresh")
            rate = manager.get("/api/payments/rates/EUR/USD").raise_for_status().json()
    assert rate["usable"], rate
    return shop, rate


def test_a_usd_float_sale_and_short_count_show_in_the_z_report_per_currency(
    open_tab: Callable[..., Tab], server: Server, usd_shop: tuple[TillShop, dict[str, str]], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    shop, rate_info = usd_shop
    rate = Decimal(rate_info["rate"])
    eur_float, usd_float = 10_000, 5_000
    total = shop.coffee.price_minor
    due_usd = amount_due_in(total, "EUR", "USD", rate)
    handed = (due_usd // 1000 + 1) * 1000  # the next ten dollars up
    change = foreign_cash(total, "EUR", "USD", rate, handed).change_minor

    tab = open_tab(1280, 900)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("till").wait_for()  # one outlet with one register: the till is that register at once
    expect_text(page.get_by_test_id("current-register"), r"^Border till$")
    page.get_by_test_id("no-shift-banner").get_by_role("link", name="Open a shift").click()

    # Open with a float in euros and one in dollars.
    page.get_by_label("Opening float", exact=True).fill(money_field(eur_float))
    page.get_by_label("Opening float in USD (optional)").fill(money_field(usd_float))
    page.get_by_role("button", name="Open shift").click()
    expect_text(page.get_by_test_id("shift-done"), r"Shift opened with a float of .*\+ .*50\.00")
    expect_text(page.get_by_test_id("shift-float-USD"), r"50\.00")

    # A sale paid in dollars at the till, change in euros.
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Sell").click()
    page.get_by_test_id("till-search").fill(shop.coffee.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{shop.coffee.sku}"]').click()
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    dialog.get_by_test_id("mode-foreign").check()
    expect_text(dialog.get_by_test_id("foreign-due"), re.escape(f"{due_usd // 100}.{due_usd % 100:02d} USD"))
    dialog.get_by_test_id("foreign-input").fill(f"{handed // 100}")
    dialog.get_by_test_id("complete-foreign").click()
    expect_text(page.get_by_test_id("receipt").get_by_test_id("receipt-change"), re.escape(euros(change)))
    page.get_by_test_id("new-sale").click()

    # Blind close: the euros counted exactly, the dollars one dollar short.
    expected_eur = eur_float - change
    expected_usd = usd_float + handed
    counted_usd = expected_usd - 100
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Shift").click()
    page.get_by_label("Counted cash").fill(money_field(expected_eur))
    page.get_by_role("button", name="Close shift…").click()
    expect_text(page.get_by_test_id("shift-error"), r"Count the USD in the drawer")
    page.get_by_label("Counted USD").fill(money_field(counted_usd))
    page.get_by_role("button", name="Close shift…").click()
    confirm = page.get_by_test_id("confirm-close")
    expect_text(confirm, re.escape(money_field(counted_usd)))
    confirm.get_by_role("button", name="Close and show the Z-report").click()

    z = page.get_by_test_id("z-report")
    table = z.get_by_test_id("z-per-currency")
    expect(table).to_be_visible()
    usd = lambda key: z.get_by_test_id(f"z-cur-USD-{key}")  # noqa: E731
    expect_text(usd("float"), re.escape(money_field(usd_float)))
    expect_text(usd("sales"), re.escape(money_field(handed)))
    expect_text(usd("expected"), re.escape(money_field(expected_usd)))
    expect_text(usd("counted"), re.escape(money_field(counted_usd)))
    expect_text(usd("over-short"), "[-\u2212].*1\\.00")
    expect_text(z.get_by_test_id("z-cur-EUR-change"), re.escape(euros(-change)))
    expect_text(z.get_by_test_id("z-cur-EUR-expected"), rf"^{re.escape(euros(expected_eur))}$")
    expect_text(z.get_by_test_id("z-cur-EUR-over-short"), rf"^{re.escape(euros(0))}$")
    converted = round_fraction(exact_conversion(-100, "USD", "EUR", 1 / Fraction(rate)), "half_even")
    line = z.get_by_test_id("z-converted-USD")
    expect_text(line, r"Short by .*1\.00")
    expect_text(line, re.escape(euros(converted)))
    expect_text(line, re.escape(f"converted at 1 EUR = {rate_info['rate']} USD (the rate of the shift's last USD sale"))
    expect_text(line, re.escape(f"{rate_info['source']}, {rate_info['reference_date']}"))
    page.screenshot(path=str(screenshots / "shift-z-report-per-currency.png"), full_page=True)

    # The service recorded the same, for good.
    with server.client(server.token(*shop.manager)) as http:
        (shift,) = http.get("/api/sales/shifts", params={"outlet_id": shop.outlet_id}).json()
        report = http.get(f"/api/sales/shifts/{shift['id']}/z-report").json()
    assert shift["foreign_floats"] == [{"currency": "USD", "amount_minor": usd_float}]
    assert shift["foreign_counted"] == [{"currency": "USD", "amount_minor": counted_usd}]
    eur_row, usd_row = report["cash_by_currency"]
    assert (eur_row["expected_minor"], eur_row["over_short_minor"]) == (expected_eur, 0)
    assert (usd_row["expected_minor"], usd_row["counted_minor"], usd_row["over_short_minor"]) == (expected_usd, counted_usd, -100)
    assert (usd_row["converted"]["over_short_minor"], usd_row["converted"]["rate_basis"]) == (converted, "sale")
