"""Quick keys (issue 17: "touch selling takes 13 taps for a 3-item sale"): a manager puts
the everyday products on the till's first screen in Back office -> Quick keys, in the
order they want; the cashier's till shows them as tiles before the categories, and a tap
adds the product: a sale of two items is two taps and Pay."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.browser.conftest import Server, Tab
from tests.browser.helpers import euros, expect_text, line
from tests.browser.test_refund import build_till_shop

pytestmark = pytest.mark.browser


def test_a_manager_arranges_quick_keys_and_the_cashier_sells_with_two_taps(open_tab: Callable[..., Tab], server: Server) -> None:
    from playwright.sync_api import expect

    shop = build_till_shop(server, registers=("Front till",))
    office = open_tab(1280, 800).login(*shop.manager)
    office.locator("#reports-title").wait_for()
    office.get_by_role("navigation", name="Back office").get_by_role("link", name="Quick keys").click()
    editor = office.get_by_test_id("quick-keys-editor")
    expect_text(editor, r"No quick keys yet")
    for item in (shop.coffee, shop.tea):
        office.get_by_label("Add a product").fill(item.sku)
        editor.get_by_role("button", name=re.compile(re.escape(item.name))).click()
    expect(editor.get_by_test_id("quick-key")).to_have_count(2)
    editor.get_by_role("button", name=f"Move {shop.tea.name} up").click()  # tea first
    expect(editor.get_by_test_id("quick-key").first).to_contain_text(shop.tea.name)
    editor.get_by_role("button", name="Save quick keys").click()
    expect_text(office.get_by_test_id("quick-keys-saved"), r"Saved: 2 tiles")

    till = open_tab(1280, 800).login(*shop.cashier)
    till.get_by_test_id("till").wait_for()
    tiles = till.get_by_test_id("quick-keys").get_by_test_id("product-tile")
    expect(tiles).to_have_count(2)
    expect(tiles.nth(0)).to_contain_text(shop.tea.name)
    expect(tiles.nth(1)).to_contain_text(shop.coffee.name)
    expect(tiles.nth(0)).to_contain_text(euros(shop.tea.price_minor))
    tiles.nth(0).click()
    tiles.nth(1).click()
    expect_text(line(till, shop.tea.id), re.escape(shop.tea.name))
    expect_text(line(till, shop.coffee.id), re.escape(shop.coffee.name))
    expect_text(till.get_by_test_id("cart-total"), re.escape(euros(shop.tea.price_minor + shop.coffee.price_minor)))

    # The tiles stay on the till when its link drops (kept from the last time it asked).
    till.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=60_000)
    till.context.set_offline(True)
    till.reload()
    till.get_by_test_id("till").wait_for()
    expect(till.get_by_test_id("quick-keys").get_by_test_id("product-tile")).to_have_count(2)
    till.context.set_offline(False)
