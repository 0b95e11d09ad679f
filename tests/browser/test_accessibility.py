"""Accessibility, checked by axe-core in Chromium on the screens people use all day
(issue 17): the till (with a cart), its pay dialog, the dashboard and every back-office
page a manager and an admin open. A serious or critical violation fails the test, with
the rule and the elements that break it."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest

from tests.browser.conftest import Server, Shop, Tab
from tests.browser.helpers import accessibility_problems, expect_text, line

pytestmark = pytest.mark.browser


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (200, 150), (30, 90, 160)).save(out, format="PNG")
    return out.getvalue()


OFFICE_PAGES = (
    "products",
    "stock",
    "low-stock",
    "transfers",
    "purchase-orders",
    "counts",
    "sales",
    "shifts",
    "sync-exceptions",
    "registers",
    "quick-keys",
    "receipts",
    "tax",
    "outlets",
)
ADMIN_PAGES = ("users",)


def test_the_till_and_its_pay_dialog_pass_axe(open_tab: Callable[..., Tab], server: Server, shop: Shop) -> None:
    page = open_tab(1280, 800).login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    problems = accessibility_problems(page, "till, empty cart")
    page.get_by_test_id("till-search").fill(shop.searched.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{shop.searched.sku}"]').click()
    expect_text(line(page, shop.searched.id), re.escape(shop.searched.name))
    problems += accessibility_problems(page, "till, a line in the cart")
    page.keyboard.press("F4")
    page.get_by_test_id("pay-dialog").wait_for()
    problems += accessibility_problems(page, "pay dialog")
    assert problems == [], "\n".join(problems)


def test_the_dashboard_and_the_back_office_pass_axe(open_tab: Callable[..., Tab], server: Server, shop: Shop) -> None:
    page = open_tab(1280, 800).login(*shop.manager)
    page.locator("#reports-title").wait_for()
    page.wait_for_load_state("networkidle")
    problems = accessibility_problems(page, "dashboard")
    for name in OFFICE_PAGES:
        page.goto(f"{server.base_url}/#/office/{name}")
        page.get_by_role("heading", level=1).first.wait_for()
        page.wait_for_load_state("networkidle")
        problems += accessibility_problems(page, f"office/{name}")
    # The product form with its picture controls (a picture uploaded, and one chosen).
    with server.client(server.token(*shop.manager)) as http:
        uploaded = http.put(
            f"/api/catalog/products/{shop.searched.id}/image", content=_png(), headers={"Content-Type": "image/png"}
        )
        assert uploaded.status_code == 200, uploaded.text
    page.goto(f"{server.base_url}/#/office/products")
    page.get_by_label("Search").fill(shop.searched.sku)
    page.locator(f'tr[data-sku="{shop.searched.sku}"]').get_by_role("button", name=f"Edit {shop.searched.name}").click()
    page.get_by_test_id("image-current").wait_for()
    problems += accessibility_problems(page, "product form, with a picture")
    page.get_by_test_id("product-image").get_by_label("Replace the picture").set_input_files(
        {"name": "new.png", "mimeType": "image/png", "buffer": _png()}
    )
    page.get_by_test_id("image-preview").wait_for()
    problems += accessibility_problems(page, "product form, a picture chosen")
    admin = open_tab(1280, 800).login(server.admin_email, server.admin_password)
    for name in ADMIN_PAGES:
        admin.goto(f"{server.base_url}/#/office/{name}")
        admin.get_by_role("heading", level=1).first.wait_for()
        admin.wait_for_load_state("networkidle")
        problems += accessibility_problems(admin, f"office/{name} (admin)")
    assert problems == [], "\n".join(problems)
