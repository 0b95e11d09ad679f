"""Deferred card capture (ADR 0073) in Chromium through the stack's nginx: the outlet's
manager allows cards offline with their limits in the back office; the services down
(the gateway answering 503, the shop's LAN up), the till takes a card within the limit
on the card reader (the reader sandbox keeps it: its own link is down too), refuses one
above the limit saying why, and when the services answer again the sale is sent once and
payments captures the card once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import euros, expect_text
from tests.browser.test_offline_queue import add, open_till
from tests.browser.test_refund import TillShop, build_till_shop
from tests.stack_fixture import stack_args

pytestmark = pytest.mark.browser

CARD_LIMIT = 500  # the largest card payment a till takes offline here: one coffee (3.40), not two


def reader_url(server: Server) -> str:
    """The stack's card reader sandbox (scripts/stack.py: port base + 36)."""
    args = stack_args()
    gateway = int(args[args.index("--gateway-port") + 1])
    if not server.base_url.rstrip("/").endswith(f":{gateway}"):
        pytest.skip("the card reader sandbox runs with the local stack: POS_BROWSER_BASE_URL=stack")
    return f"http://127.0.0.1:{gateway + 56}"


@pytest.fixture
def shop(server: Server) -> TillShop:
    return build_till_shop(server, registers=("Counter",))


def set_card_limits_in_the_office(tab: Tab, server: Server, shop: TillShop) -> None:
    """The manager allows cards offline on the Receipts page, amounts in euros: a card
    allowed without the reader's address is named by its field; saved, the limits stay."""
    url = f"{reader_url(server)}/nexo"
    office = tab.login(*shop.manager)
    office.goto(f"{server.base_url}/#/office/receipts")
    form = office.get_by_test_id("offline-limits-form")
    assert form.get_by_test_id("offline-max-sale").input_value() == "500.00"
    form.get_by_test_id("offline-card-allowed").check()
    form.get_by_test_id("offline-card-max-sale").fill("5")
    form.get_by_test_id("offline-card-max-device").fill("10.00")
    form.get_by_test_id("offline-limits-save").click()
    expect_text(form.get_by_test_id("error-card-reader-url"), r"type its address")
    form.get_by_test_id("card-reader-url").fill(url)
    form.get_by_test_id("offline-limits-save").click()
    expect_text(form.get_by_test_id("offline-limits-saved"), r"Offline limits of .* saved")
    office.reload()
    assert office.get_by_test_id("offline-card-max-sale").input_value() == "5.00"
    assert office.get_by_test_id("offline-card-allowed").is_checked()
    with server.client(server.token(*shop.manager)) as http:
        settings = http.get(f"/api/sales/outlets/{shop.outlet_id}/settings").json()
    card = [settings[k] for k in ("offline_card_allowed", "offline_card_max_sale_minor", "offline_card_max_device_minor")]
    assert card == [True, CARD_LIMIT, 2 * CARD_LIMIT]


def test_a_card_within_the_offline_limit_is_taken_on_the_reader_and_captured_once_when_back(
    open_tab: Callable[..., Tab], server: Server, shop: TillShop
) -> None:
    set_card_limits_in_the_office(open_tab(1280, 800), server, shop)
    reader = httpx.Client(base_url=reader_url(server), timeout=10)
    page = open_till(open_tab(1280, 800), shop)

    def down(route: Any) -> None:
        route.fulfill(status=503, content_type="application/json", body='{"detail": "service unavailable, try again"}')

    # The services go away, and so does the reader's own link to its bank.
    reader.post("/sandbox/reader", json={"card": "visa", "acquirer_link": False}).raise_for_status()
    page.route("**/api/**", down)
    page.get_by_test_id("till-search").fill(shop.coffee.sku)
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    page.get_by_test_id("till-search").fill("")

    add(page, shop.coffee)
    page.keyboard.press("F4")
    expect_text(page.get_by_test_id("pay-offline-note"), re.escape(f"a card on the reader up to {euros(CARD_LIMIT)}"))
    page.keyboard.press("F6")
    page.get_by_test_id("pay-card").click()
    expect_text(page.get_by_test_id("receipt-offline"), r"TAKEN OFFLINE")
    expect_text(page.get_by_test_id("receipt-tender-card"), re.escape(euros(shop.coffee.price_minor)))
    expect_text(page.get_by_test_id("receipt-card-pending"), r"pending capture")
    printed = page.get_by_test_id("receipt-number").inner_text().strip()
    page.get_by_test_id("new-sale").click()

    add(page, shop.coffee)
    add(page, shop.coffee)
    page.keyboard.press("F4")
    page.keyboard.press("F6")
    page.get_by_test_id("pay-card").click()
    expect_text(
        page.get_by_test_id("pay-error"),
        re.escape(f"A card payment of {euros(2 * shop.coffee.price_minor)} is above the {euros(CARD_LIMIT)} this outlet allows"),
    )
    expect_text(page.get_by_test_id("unsynced-count"), r"1 sale not sent yet")

    reader.post("/sandbox/reader", json={"acquirer_link": True}).raise_for_status()
    page.unroute("**/api/**", down)
    eventually(
        lambda: not page.get_by_test_id("offline-status").is_visible(),
        "the till to find the services again and send the sale",
        timeout=120,
    )
    with server.client(server.token(*shop.manager)) as http:
        listed = http.get("/api/sales", params={"outlet_id": shop.outlet_id, "limit": 50}).json()["items"]
        [sale] = [s for s in listed if s["receipt_number"] == printed]
        assert (sale["status"], sale["total_minor"]) == ("COMPLETED", shop.coffee.price_minor)
        [payment] = http.get("/api/payments/payments", params={"sale_id": sale["id"]}).json()
        receipt = http.get(f"/api/sales/{sale['id']}").json()
    assert (payment["status"], payment["tenders"][0]["kind"], payment["tenders"][0]["status"]) == ("captured", "card", "captured")
    assert receipt["tenders"][0]["capture"] == "deferred"
    ref = receipt["tenders"][0]["reader_ref"]
    assert len(reader.get(f"/sandbox/payments/{ref}").json()["captures"]) == 1
    reader.close()
