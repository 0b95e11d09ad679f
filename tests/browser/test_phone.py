"""A till and a back office on a 360 px phone (issue 17, "Phone"): the sale has a view
of its own (the products' view left only the pay bar and less than one line of the
sale), every back-office section is on the screen (5 of 8 were off its side with no sign
that the strip scrolls), and the buttons a finger hits are at least 44 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import Server, Shop, Tab
from tests.browser.helpers import euros, expect_text, line, overflow

pytestmark = pytest.mark.browser

SMALL = """(selector) => [...document.querySelectorAll(selector)]
  .filter((e) => e.offsetParent !== null)
  .map((e) => { const r = e.getBoundingClientRect();
    return { what: (e.getAttribute("aria-label") || e.innerText || "").trim().slice(0, 40), w: r.width, h: r.height }; })
  .filter((t) => t.w < 44 || t.h < 44)"""


def small_targets(page: Any, selector: str) -> list[dict[str, Any]]:
    return page.evaluate(SMALL, selector)


def test_a_phone_till_shows_the_sale_in_a_view_of_its_own_and_fits_a_finger(
    open_tab: Callable[..., Tab], server: Server, shop: Shop
) -> None:
    from playwright.sync_api import expect

    page = open_tab(360, 740).login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    for product in (shop.searched, shop.extra):
        page.get_by_test_id("till-search").fill(product.sku)
        page.locator(f'[data-testid=search-results] [data-sku="{product.sku}"]').click()
    total = shop.searched.price_minor + shop.extra.price_minor
    # Picking products: the lines are out of the way, the total and Pay are in view.
    expect_text(page.get_by_test_id("view-sale"), r"Sale · 2 items")
    expect(line(page, shop.searched.id)).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile(r"^Pay"))).to_be_in_viewport()
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(total)))
    # The sale's own view: its lines, the search out of the way, Pay still there.
    page.get_by_test_id("view-sale").click()
    expect(line(page, shop.searched.id)).to_be_in_viewport()
    expect(page.get_by_test_id("till-search")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile(r"^Pay"))).to_be_in_viewport()
    assert overflow(page) <= 0
    assert small_targets(page, "header.topbar a, header.topbar button, .tillbar a, .tillbar button, .phone-views button") == []
    page.get_by_test_id("view-products").click()
    expect(page.get_by_test_id("till-search")).to_be_visible()


def test_a_phone_back_office_shows_every_section_and_fits_a_finger(
    open_tab: Callable[..., Tab], server: Server, shop: Shop
) -> None:
    page = open_tab(360, 740).login(*shop.manager)
    page.locator("#reports-title").wait_for()
    menu = page.get_by_role("navigation", name="Back office")
    links = menu.get_by_role("link")
    assert links.count() >= 8
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, (links.nth(i).inner_text(), box)
    assert overflow(page) <= 0
    assert small_targets(page, "header.topbar a, header.topbar button, .subnav a, main button") == []
