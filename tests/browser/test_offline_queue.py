"""Issue 15's queue in Chromium through the stack's nginx: many sales taken offline (with
a reload in the middle) are each recorded once when the link is back, with the stock and
the reports right; a sync whose answers are lost records nothing twice; two tabs of one
till sending the same queue record nothing twice.

The tills here sell with the keyboard and the catalogue kept on the till, as a cashier
does when the line is down; the checks read what a manager would: the outlet's sales,
its stock and its reports."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import euros, expect_text, line
from tests.browser.test_refund import Item, TillShop, build_till_shop

pytestmark = pytest.mark.browser

CASH_ROUNDING = 5  # the outlet rounds cash totals to the nearest 0.05


@dataclass(frozen=True)
class Sold:
    receipt_number: str
    coffee: int
    tea: int
    total_minor: int


@pytest.fixture
def shop(server: Server) -> Iterator[TillShop]:
    """A fresh outlet per test (its own register, stock and receipt sequence), rounding
    cash to 0.05 so the offline pay dialog must use the outlet's rules, not the shelf sum."""
    made = build_till_shop(server, registers=("Counter",))
    with server.client(server.token(*made.manager)) as manager:
        settings = manager.get(f"/api/sales/outlets/{made.outlet_id}/settings").json()
        settings["cash_rounding_minor"] = CASH_ROUNDING
        changed = manager.put(f"/api/sales/outlets/{made.outlet_id}/settings", json=settings)
        assert changed.status_code == 200, changed.text
    yield made


def open_till(tab: Tab, shop: TillShop) -> Any:
    """The cashier's till, online, with the app kept by the service worker, the outlet's
    settings kept for offline and the catalogue filled on the till."""
    page = tab.login(*shop.cashier)
    expect_text(page.get_by_test_id("current-register"), r"^Counter$")
    page.get_by_test_id("till").wait_for()
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=20000)
    # The replica is filled when a product can be found in it with the link down; wait
    # until the till has had time to fill it (two products: one page of the feed).
    page.wait_for_timeout(3000)
    return page


def add(page: Any, item: Item) -> None:
    page.get_by_test_id("till-search").fill(item.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{item.sku}"]').click()
    expect_text(line(page, item.id), re.escape(item.name))


def rounded(total: int) -> int:
    """Cash due for a total under the outlet's 0.05 rounding (half up)."""
    return (total + CASH_ROUNDING // 2) // CASH_ROUNDING * CASH_ROUNDING


def sell_offline(page: Any, shop: TillShop, coffee: int, tea: int, *, coffee_discount_pct: int = 0) -> Sold:
    """Ring a sale on the offline till and take exact cash; what its receipt says."""
    for _ in range(coffee):
        add(page, shop.coffee)
    for _ in range(tea):
        add(page, shop.tea)
    total = shop.coffee.price_minor * coffee + shop.tea.price_minor * tea
    if coffee_discount_pct:
        page.get_by_role("button", name=f"Discount on {shop.coffee.name}").click()
        dialog = page.get_by_test_id("discount-dialog")
        dialog.get_by_label("Percent (%)").check()
        dialog.get_by_label("Discount in percent").fill(str(coffee_discount_pct))
        dialog.get_by_label("Reason", exact=True).fill("Regular customer")
        dialog.get_by_role("button", name="Apply discount").click()
        total -= (shop.coffee.price_minor * coffee * coffee_discount_pct + 50) // 100
        # Priced by the till itself: no server to ask.
        expect_text(page.get_by_test_id("cart-total"), re.escape(euros(total)))
    page.keyboard.press("F4")
    expect_text(page.get_by_test_id("pay-offline-note"), r"cash only")
    page.keyboard.press("F9")  # exact cash: the rounded total
    page.keyboard.press("Enter")
    number = page.get_by_test_id("receipt-number")
    number.wait_for()
    printed = number.inner_text().strip()
    expect_text(page.get_by_test_id("receipt-offline"), r"TAKEN OFFLINE")
    expect_text(page.get_by_test_id("receipt-total"), re.escape(euros(total)))
    expect_text(page.get_by_test_id("receipt-tender-cash"), re.escape(euros(rounded(total))))
    expect_text(page.get_by_test_id("receipt-change"), re.escape(euros(0)))
    page.get_by_test_id("new-sale").click()
    return Sold(printed, coffee, tea, total)


def on_hand(server: Server, token: str, shop: TillShop) -> dict[str, int]:
    with server.client(token) as http:
        return {
            key: http.get(f"/api/inventory/stock/{shop.outlet_id}/{item.id}").json()["on_hand"]
            for key, item in (("coffee", shop.coffee), ("tea", shop.tea))
        }


def assert_recorded_once(server: Server, shop: TillShop, sold: list[Sold], stock_before: dict[str, int]) -> None:
    """What a manager checks afterwards: every receipt once among the outlet's sales with
    its printed total, the stock taken once per item sold, the day's report and its cash."""
    manager = server.token(*shop.manager)
    with server.client(manager) as http:
        listed = http.get("/api/sales", params={"outlet_id": shop.outlet_id, "limit": 200}).json()["items"]
        by_number = {}
        for sale in listed:
            assert sale["receipt_number"] not in by_number, f"{sale['receipt_number']} recorded twice"
            by_number[sale["receipt_number"]] = sale
        assert sorted(by_number) == sorted(s.receipt_number for s in sold)
        for s in sold:
            assert (by_number[s.receipt_number]["status"], by_number[s.receipt_number]["total_minor"]) == (
                "COMPLETED",
                s.total_minor,
            ), s
        expected = {
            "coffee": stock_before["coffee"] - sum(s.coffee for s in sold),
            "tea": stock_before["tea"] - sum(s.tea for s in sold),
        }
        eventually(lambda: on_hand(server, manager, shop) == expected, f"the stock to be taken once: {expected}", timeout=60)
        scope = {"outlet_id": shop.outlet_id}
        net = sum(s.total_minor for s in sold)

        def counted() -> dict[str, Any] | None:
            totals = http.get("/api/reports/sales/daily", params=scope).json()["totals"]
            return totals if totals.get("sales_count") == len(sold) else None

        totals = eventually(counted, f"the day's report to count {len(sold)} sales", timeout=60)
        assert totals["gross_minor"] == net, totals  # what the customers paid, before cash rounding
        cash = sum(rounded(s.total_minor) for s in sold)
        tenders = eventually(
            lambda: (
                (rows := http.get("/api/reports/sales/tenders", params=scope).json()["rows"])
                and rows[0]["captured_minor"] == cash
                and rows
            ),
            "the cash in the tender report",
        )
        assert [(t["kind"], t["captured_minor"]) for t in tenders] == [("cash", cash)]


def test_25_sales_taken_offline_across_a_reload_are_each_recorded_once(
    open_tab: Callable[..., Tab], server: Server, shop: TillShop
) -> None:
    # Enough stock that nothing goes below zero: this test is about counting, not conflicts.
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        for item in (shop.coffee, shop.tea):
            received = admin.post(
                "/api/inventory/receipts",
                json={
                    "outlet_id": shop.outlet_id,
                    "lines": [{"product_id": item.id, "qty": 100}],
                    "reference": "offline queue test",
                },
            )
            assert received.status_code == 201, received.text
    stock_before = on_hand(server, server.token(*shop.manager), shop)
    page = open_till(open_tab(1280, 800), shop)
    posted: list[str] = []
    page.context.on(
        "request",
        lambda r: posted.append(r.post_data_json["id"]) if r.method == "POST" and r.url.endswith("/api/sales/offline") else None,
    )

    page.context.set_offline(True)
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    sold: list[Sold] = []
    for n in range(20):
        sold.append(sell_offline(page, shop, coffee=1 + n % 2, tea=n % 3, coffee_discount_pct=10 if n == 3 else 0))
    expect_text(page.get_by_test_id("unsynced-count"), r"20 sales not sent yet")

    page.reload()  # still offline: the app from the service worker, the queue from IndexedDB
    expect_text(page.get_by_test_id("unsynced-count"), r"20 sales not sent yet")
    for n in range(5):
        sold.append(sell_offline(page, shop, coffee=1, tea=1 + n % 2))
    expect_text(page.get_by_test_id("unsynced-count"), r"25 sales not sent yet")
    numbers = [s.receipt_number for s in sold]
    register = re.match(r"R(\d+)-", numbers[0])
    assert register and numbers == [f"R{register.group(1)}-OFF{n:06d}" for n in range(1, 26)]

    page.context.set_offline(False)
    eventually(lambda: not page.get_by_test_id("offline-status").is_visible(), "the till to send its 25 sales", timeout=120)
    assert len(set(posted)) == 25, posted
    assert_recorded_once(server, shop, sold, stock_before)


def test_a_sync_whose_answers_are_lost_records_each_sale_once(
    open_tab: Callable[..., Tab], server: Server, shop: TillShop
) -> None:
    stock_before = on_hand(server, server.token(*shop.manager), shop)
    page = open_till(open_tab(1280, 800), shop)
    page.context.set_offline(True)
    sold = [sell_offline(page, shop, coffee=1, tea=n % 2) for n in range(4)]

    # The link comes back, but the first three answers never reach the till: each sale
    # reaches the server and is recorded, then the connection drops before the answer.
    lost = {"left": 3}
    attempts: list[str] = []

    def lose_answer(route: Any) -> None:
        attempts.append(route.request.post_data_json["id"])
        response = route.fetch()  # the server records the sale
        if lost["left"] > 0 and response.status in (200, 201):
            lost["left"] -= 1
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/api/sales/offline", lose_answer)
    page.context.set_offline(False)
    eventually(
        lambda: not page.get_by_test_id("offline-status").is_visible(),
        "the till to send its sales despite the lost answers",
        timeout=120,
    )
    assert lost["left"] == 0
    assert len(attempts) >= len(sold) + 3, attempts  # each lost answer meant a resend of the same id
    assert len(set(attempts)) == len(sold)
    assert_recorded_once(server, shop, sold, stock_before)


def test_two_tabs_of_one_till_send_the_queue_once(open_tab: Callable[..., Tab], server: Server, shop: TillShop) -> None:
    stock_before = on_hand(server, server.token(*shop.manager), shop)
    tab = open_tab(1280, 800)
    first = open_till(tab, shop)
    # A second tab of the same till (same browser profile: the same queue in IndexedDB),
    # where the cashier logged in too (a session is per tab).
    second = tab.context.new_page()
    second.goto(tab.base_url + "/")
    second.get_by_label("Email").fill(shop.cashier[0])
    second.get_by_label("Password").fill(shop.cashier[1])
    second.get_by_role("button", name="Log in").click()
    expect_text(second.get_by_test_id("current-register"), r"^Counter$")
    tab.context.set_offline(True)
    sold = [sell_offline(first, shop, coffee=1, tea=1) for _ in range(3)]
    expect_text(second.get_by_test_id("unsynced-count"), r"3 sales not sent yet", timeout=40_000)
    sold += [sell_offline(second, shop, coffee=2, tea=0) for _ in range(2)]
    # One receipt sequence for the register across both tabs.
    assert [s.receipt_number[-3:] for s in sold] == ["001", "002", "003", "004", "005"]
    expect_text(first.get_by_test_id("unsynced-count"), r"5 sales not sent yet", timeout=40_000)

    # Both tabs see the link come back and both send the queue; slow answers give them
    # every chance to overlap.
    sent: list[tuple[str, str]] = []

    def slow(route: Any, tab_name: str) -> None:
        sent.append((tab_name, route.request.post_data_json["id"]))
        route.fulfill(response=route.fetch())

    first.route("**/api/sales/offline", lambda r: slow(r, "first"))
    second.route("**/api/sales/offline", lambda r: slow(r, "second"))
    tab.context.set_offline(False)
    for page in (first, second):
        eventually(
            lambda p=page: not p.get_by_test_id("offline-status").is_visible(), "both tabs to see nothing waiting", timeout=120
        )
    assert len({sale_id for _, sale_id in sent}) == 5, sent
    assert_recorded_once(server, shop, sold, stock_before)


def test_services_down_behind_a_working_network_is_offline_and_comes_back_by_itself(
    open_tab: Callable[..., Tab], server: Server, shop: TillShop
) -> None:
    """The network is up but the gateway answers 503 for every API (the services are
    down): the till says it is offline, sells for cash from the catalogue kept on it, and
    goes back online and sends the sale once the services answer again, with nobody
    touching it."""
    stock_before = on_hand(server, server.token(*shop.manager), shop)
    page = open_till(open_tab(1280, 800), shop)

    def down(route: Any) -> None:
        route.fulfill(
            status=503,
            content_type="application/json",
            body='{"detail": "service unavailable, try again"}',
            headers={"Retry-After": "5"},
        )

    page.route("**/api/**", down)
    # The next request the till makes (a search) meets the 503 and the till goes offline.
    page.get_by_test_id("till-search").fill(shop.coffee.sku)
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    page.get_by_test_id("till-search").fill("")
    sold = [sell_offline(page, shop, coffee=1, tea=1)]
    expect_text(page.get_by_test_id("unsynced-count"), r"1 sale not sent yet")

    page.unroute("**/api/**", down)
    eventually(
        lambda: not page.get_by_test_id("offline-status").is_visible(),
        "the till to find the services again and send the sale",
        timeout=120,
    )
    assert_recorded_once(server, shop, sold, stock_before)


def test_a_tab_closed_mid_sync_sends_the_rest_once_when_the_till_is_opened_again(
    open_tab: Callable[..., Tab], server: Server, shop: TillShop
) -> None:
    """The till is closed while it sends: the sale in flight reached the server, its
    answer never reached the page. Opened again, the till sends what is left, that sale
    under the same id again, and each is recorded once."""
    stock_before = on_hand(server, server.token(*shop.manager), shop)
    tab = open_tab(1280, 800)
    page = open_till(tab, shop)
    tab.context.set_offline(True)
    sold = [sell_offline(page, shop, coffee=1, tea=n % 2) for n in range(3)]
    reached: list[str] = []

    def hold_the_answer(route: Any) -> None:
        reached.append(route.request.post_data_json["id"])
        route.fetch()  # the server records the sale; the page never hears back

    page.route("**/api/sales/offline", hold_the_answer)
    tab.context.set_offline(False)
    # (waiting in the page: Playwright runs the route handler only while it is called)
    eventually(lambda: page.wait_for_timeout(100) or reached, "the first sale to reach the server", timeout=60)
    page.close()  # mid-sync

    again = tab.context.new_page()
    again.goto(tab.base_url + "/")  # the session is gone with the tab: log in again
    again.get_by_label("Email").fill(shop.cashier[0])
    again.get_by_label("Password").fill(shop.cashier[1])
    again.get_by_role("button", name="Log in").click()
    again.get_by_test_id("till").wait_for()
    eventually(
        lambda: not again.get_by_test_id("offline-status").is_visible(), "the reopened till to send what was left", timeout=120
    )
    assert reached[0] == sold_id(server, shop, sold[0].receipt_number)
    assert_recorded_once(server, shop, sold, stock_before)


def sold_id(server: Server, shop: TillShop, receipt_number: str) -> str:
    with server.client(server.token(*shop.manager)) as http:
        listed = http.get("/api/sales", params={"outlet_id": shop.outlet_id, "limit": 200}).json()["items"]
    return next(s["id"] for s in listed if s["receipt_number"] == receipt_number)
