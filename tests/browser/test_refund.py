"""Refunds at the till in a real browser (Debian's Chromium): a cashier finds a past sale
by its receipt number, refunds 1 of 2 units with restock, a manager approves with their
PIN, the slip says what to give back; the API shows the stock back up and the sale's
refunded quantity; more than is left is refused, by the screen and by the server.

The fixture builds its own outlet, register, cashier, manager (with a PIN) and products
through the API, and rings the sale through the API on the register (as a till does)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import euros, expect_text

pytestmark = pytest.mark.browser


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    price_minor: int
    stock: int
    sku: str = ""


@dataclass(frozen=True)
class TillShop:
    """Outlets of our own with registers, a cashier and a manager (with a PIN), products."""

    outlet_id: str
    outlet_name: str
    other_outlet_name: str | None
    registers: dict[str, str]  # name -> id
    cashier: tuple[str, str]
    manager: tuple[str, str]
    manager_name: str
    manager_pin: str
    coffee: Item
    tea: Item


def build_till_shop(
    server: Server, *, registers: tuple[str, ...], second_outlet: bool = False, manager_pin: str | None = "4829"
) -> TillShop:
    """Everything through the API, with fresh names, so it runs again and again on one
    server. `manager_pin=None`: the manager has no PIN yet (manager_pin is then "")."""
    suffix = uuid.uuid4().hex[:6].upper()
    admin = server.client(server.token(server.admin_email, server.admin_password))
    with admin:
        outlet = admin.post("/api/identity/outlets", json={"name": f"Harbour Deli {suffix}", "currency": "EUR"})
        assert outlet.status_code == 201, outlet.text
        outlet = outlet.json()
        outlets = [outlet["id"]]
        other_name = None
        if second_outlet:
            other = admin.post("/api/identity/outlets", json={"name": f"Station Kiosk {suffix}", "currency": "EUR"})
            assert other.status_code == 201, other.text
            outlets.append(other.json()["id"])
            other_name = other.json()["name"]
        made_registers = {}
        for name in registers:
            created = admin.post("/api/identity/registers", json={"outlet_id": outlet["id"], "name": name})
            assert created.status_code == 201, created.text
            made_registers[name] = created.json()["id"]
        people = {}
        names = {"cashier": f"Robin Cashier {suffix}", "manager": f"Alex Manager {suffix}"}
        for role in ("cashier", "manager"):
            email = f"refund-{role}-{suffix.lower()}@example.com"
            password = f"{secrets.token_urlsafe(12)}-Aa1"
            created = admin.post(
                "/api/identity/users",
                json={"email": email, "name": names[role], "password": password, "role": role, "outlets": outlets},
            )
            assert created.status_code == 201, created.text
            people[role] = (email, password)
        category = admin.post("/api/catalog/categories", json={"name": f"Deli {suffix}"})
        assert category.status_code == 201, category.text
        items = {}
        for key, name, price, stock in (("coffee", "Oat flat white", 340, 10), ("tea", "Earl Grey tea", 250, 10)):
            product = stocked_product(
                admin,
                outlet["id"],
                {
                    "sku": f"RFD-{suffix}-{key.upper()}",
                    "name": name,
                    "category_id": category.json()["id"],
                    "price_minor": price,
                    "tax_class": "reduced",
                },
                stock,
                "refund tests",
            )
            items[key] = Item(product["id"], name, price, stock, product["sku"])
        for item in items.values():
            eventually(lambda i=item: admin.get(f"/api/sales/prices/{i.id}").status_code == 200, f"sales to know {item.name}")
    # The manager sets their approval PIN themselves.
    pin = manager_pin or ""
    if pin:
        with server.client(server.token(*people["manager"])) as manager:
            response = manager.put("/api/identity/me/pin", json={"current_password": people["manager"][1], "pin": pin})
            assert response.status_code == 204, response.text
    return TillShop(
        outlet["id"],
        outlet["name"],
        other_name,
        made_registers,
        people["cashier"],
        people["manager"],
        names["manager"],
        pin,
        **items,
    )


def stock_on_hand(server: Server, token: str, outlet_id: str, product_id: str) -> int:
    with server.client(token) as http:
        response = http.get(f"/api/inventory/stock/{outlet_id}/{product_id}")
        response.raise_for_status()
        return response.json()["on_hand"]


def sale_detail(server: Server, token: str, sale_id: str) -> dict:
    with server.client(token) as http:
        response = http.get(f"/api/sales/{sale_id}")
        response.raise_for_status()
        return response.json()


def ring_cash_sale(
    server: Server, token: str, outlet_id: str, register_id: str, lines: list[tuple[str, int]], cash_minor: int
) -> dict:
    """A cash sale rung on a register, as the till posts it."""
    with server.client(token) as http:
        response = http.post(
            "/api/sales",
            json={
                "id": str(uuid.uuid4()),
                "outlet_id": outlet_id,
                "register_id": register_id,
                "lines": [{"product_id": p, "qty": q} for p, q in lines],
                "tenders": [{"kind": "cash", "amount_minor": cash_minor}],
            },
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="module")
def refund_shop(server: Server) -> TillShop:
    return build_till_shop(server, registers=("Front till",))


def find_sale(page: Any, receipt_number: str) -> None:
    page.get_by_label("Receipt number").fill(receipt_number)
    page.get_by_role("button", name="Find sale").click()
    page.get_by_role("heading", name=re.compile(re.escape(f"Receipt {receipt_number}"))).wait_for()


def refund_line(page: Any, name: str) -> Any:
    return page.get_by_test_id("refund-line").filter(has_text=name)


def test_cashier_refunds_one_of_two_with_manager_pin(
    open_tab: Callable[..., Tab], server: Server, refund_shop: TillShop, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    shop = refund_shop
    register_id = shop.registers["Front till"]
    cashier_token = server.token(*shop.cashier)
    manager_token = server.token(*shop.manager)
    coffee, tea = shop.coffee, shop.tea

    sale = ring_cash_sale(server, cashier_token, shop.outlet_id, register_id, [(coffee.id, 2), (tea.id, 1)], 1000)
    number = sale["receipt_number"]
    coffee_line = next(line for line in sale["lines"] if line["product_id"] == coffee.id)
    # Stock leaves the shelf once inventory has handled SaleCompleted.
    eventually(
        lambda: stock_on_hand(server, manager_token, shop.outlet_id, coffee.id) == coffee.stock - 2, "the sale's stock deduction"
    )
    before = stock_on_hand(server, manager_token, shop.outlet_id, coffee.id)
    # What 1 of 2 gives back: half the line's total (cumulative share, half up); cash, no rounding.
    expected_back = half_up(coffee_line["total_minor"], 2)

    # A manager's screen (a phone) has the sale open before the cashier refunds: it will be stale.
    manager_tab = open_tab(360, 740)
    mpage = manager_tab.login(*shop.manager)
    mpage.goto(server.base_url + "/#/till/refund")
    find_sale(mpage, number)
    expect_text(refund_line(mpage, coffee.name).get_by_test_id("left"), r"^2 left$")

    # The cashier: one outlet, one register (picked by itself), then Refund from the till bar.
    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    expect_text(page.get_by_test_id("current-register"), r"Front till")
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Refund").click()
    find_sale(page, number)
    coffee_row = refund_line(page, coffee.name)
    expect_text(coffee_row, r"sold 2 \u00d7 €3\.40 · refunded 0 · 2 left")
    expect_text(refund_line(page, tea.name), r"1 left")

    page.get_by_label(f"Refund quantity, {coffee.name}").fill("1")
    page.get_by_label(f"Back on the shelf, {coffee.name}").check()
    page.get_by_label("Reason").fill("Faulty lid")
    page.get_by_label("To the original payment").check()
    page.get_by_role("button", name=re.compile(r"^Refund " + re.escape(euros(expected_back)))).click()

    # A cashier needs a manager: the PIN prompt.
    approval = page.get_by_test_id("manager-approval")
    who = approval.get_by_role("combobox", name="Manager")
    expect(who).to_have_value(re.compile(".+"))
    expect_text(who, re.escape(shop.manager_name))
    approval.get_by_label("Manager PIN").fill(shop.manager_pin)
    approval.get_by_role("button", name="Approve").click()

    expect_text(page.get_by_test_id("give-back"), rf"^Give back {re.escape(euros(expected_back))} in cash$")
    slip = page.get_by_test_id("refund-slip")
    expect_text(slip, rf"For receipt {re.escape(number)}")
    expect_text(slip, rf"1 \u00d7 {re.escape(coffee.name)}\s*back on the shelf")
    expect_text(slip.get_by_test_id("refund-total"), re.escape(euros(expected_back)))
    expect_text(slip.get_by_test_id("refund-tender-cash"), re.escape(euros(expected_back)))
    expect_text(slip, r"approved by a manager")
    page.screenshot(path=str(screenshots / "refund-slip-desktop.png"))

    # The API: the stock is back up by 1, the sale shows 1 refunded of the coffee line.
    eventually(lambda: stock_on_hand(server, manager_token, shop.outlet_id, coffee.id) == before + 1, "the restocked unit")
    with server.client(manager_token) as http:
        stored = http.get(f"/api/sales/{sale['sale_id']}").json()
    refunded = {line["product_id"]: line["refunded_qty"] for line in stored["lines"]}
    assert refunded == {coffee.id: 1, tea.id: 0}
    assert stored["refunded_minor"] == expected_back
    assert [r["status"] for r in stored["refunds"]] == ["COMPLETED"]

    # Again at the till: 1 left, and 2 is refused on the screen before anything is sent.
    page.get_by_role("button", name="Another refund").click()
    find_sale(page, number)
    coffee_row = refund_line(page, coffee.name)
    expect_text(coffee_row, r"refunded 1 · 1 left")
    expect_text(page.get_by_test_id("already-refunded"), re.escape(euros(expected_back)))
    page.get_by_label(f"Refund quantity, {coffee.name}").fill("2")
    expect_text(coffee_row, rf"Only 1 of {re.escape(coffee.name)} can still be refunded\.")
    page.get_by_label("Reason").fill("Faulty lid")
    page.get_by_role("button", name=re.compile(r"^Refund ")).click()
    expect_text(page.get_by_test_id("refund-error"), rf"Only 1 of {re.escape(coffee.name)} can still be refunded\.")
    expect(page.get_by_test_id("manager-approval")).not_to_be_visible()

    # The manager's stale screen still says 2 left; asking for 2 is refused by the server
    # (422), in words, and the screen then shows what is really left. No PIN: a manager.
    mpage.get_by_label(f"Refund quantity, {coffee.name}").fill("2")
    mpage.get_by_label("Reason").fill("Customer returned both")
    mpage.get_by_role("button", name=re.compile(r"^Refund ")).click()
    error = mpage.get_by_test_id("refund-error")
    expect_text(error, r"The refund was refused: .*only 1 of 2 left to refund\. Nothing was given back: lower the quantities")
    expect_text(refund_line(mpage, coffee.name).get_by_test_id("left"), r"^1 left$")
    expect(mpage.get_by_test_id("manager-approval")).not_to_be_visible()
    mpage.screenshot(path=str(screenshots / "refund-refused-phone.png"), full_page=True)

    # Nothing more was refunded or restocked.
    with server.client(manager_token) as http:
        stored = http.get(f"/api/sales/{sale['sale_id']}").json()
    assert {line["product_id"]: line["refunded_qty"] for line in stored["lines"]} == {coffee.id: 1, tea.id: 0}
    assert stored["refunded_minor"] == expected_back
    assert stock_on_hand(server, manager_token, shop.outlet_id, coffee.id) == before + 1


def test_unknown_receipt_number_says_what_to_check(open_tab: Callable[..., Tab], server: Server, refund_shop: TillShop) -> None:
    tab = open_tab(360, 740)
    page = tab.login(*refund_shop.cashier)
    page.get_by_test_id("till").wait_for()
    page.keyboard.press("Alt+r")  # the till bar's shortcut
    page.get_by_label("Receipt number").fill("NOPE-000000")
    page.get_by_role("button", name="Find sale").click()
    expect_text(
        page.get_by_test_id("find-error"), r"No sale with receipt number NOPE-000000 at .*Check the number on the receipt"
    )


def test_lost_answer_resends_the_same_refund_once(open_tab: Callable[..., Tab], server: Server, refund_shop: TillShop) -> None:
    """The network drops the answer to the refund (it went through). The till sends the
    very same request again, refund id included, shows the slip, and the sale is refunded
    once. A manager (no PIN asked), all in cash, not restocked."""
    shop = refund_shop
    tea = shop.tea
    cashier_token = server.token(*shop.cashier)
    manager_token = server.token(*shop.manager)
    sale = ring_cash_sale(server, cashier_token, shop.outlet_id, shop.registers["Front till"], [(tea.id, 1)], 500)
    eventually(lambda: sale_detail(server, manager_token, sale["sale_id"])["fulfilment"] == "fulfilled", "the sale's fulfilment")
    shelf = stock_on_hand(server, manager_token, shop.outlet_id, tea.id)

    tab = open_tab(1280, 800)
    page = tab.login(*shop.manager)
    page.goto(server.base_url + "/#/till/refund")
    find_sale(page, sale["receipt_number"])
    posted: list[dict[str, Any]] = []

    def drop_first_answer(route: Any) -> None:
        posted.append(route.request.post_data_json)
        if len(posted) == 1:
            route.fetch()  # the service refunds ...
            route.abort("connectionreset")  # ... and the answer is lost on the way back
        else:
            route.continue_()

    page.route("**/api/sales/*/refunds", drop_first_answer)
    page.get_by_role("button", name=f"One more {tea.name}").click()
    page.get_by_label(f"Back on the shelf, {tea.name}").uncheck()
    page.get_by_label("Reason").fill("Spilt")
    page.get_by_label("All in cash").check()
    page.get_by_role("button", name=re.compile(r"^Refund " + re.escape(euros(tea.price_minor)))).click()
    expect_text(page.get_by_test_id("give-back"), rf"^Give back {re.escape(euros(tea.price_minor))} in cash$")
    expect_text(page.get_by_test_id("refund-slip"), rf"1 \u00d7 {re.escape(tea.name)}\s*not restocked")
    page.unroute("**/api/sales/*/refunds")
    assert len(posted) == 2, posted
    assert posted[0] == posted[1], "the retry must be the very same request, refund id included"
    assert posted[0]["destination"] == "cash"
    assert posted[0]["lines"] == [{"line_no": 1, "qty": 1, "restock": False}]
    assert "approved_by" not in posted[0]  # a manager needs no approval token

    with server.client(manager_token) as http:
        stored = http.get(f"/api/sales/{sale['sale_id']}").json()
    assert [(r["refund_id"], r["status"]) for r in stored["refunds"]] == [(posted[0]["id"], "COMPLETED")]
    assert stored["lines"][0]["refunded_qty"] == 1
    assert stored["refunded_minor"] == tea.price_minor
    # Not restocked: the shelf does not change.
    page.wait_for_timeout(1000)
    assert stock_on_hand(server, manager_token, shop.outlet_id, tea.id) == shelf
