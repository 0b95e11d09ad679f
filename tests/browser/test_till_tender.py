"""The till's tender, discounts, parked sales and live stock in a real browser (Debian's
Chromium): a split card + cash payment, a sandbox card decline then cash, a discount
above the outlet's limit approved with a manager's PIN, park / resume, and a stock
level that drops on screen when another till sells (server-sent events).

The tests make their own outlet, cashier, manager (with a PIN) and products through the
API, so they run against the embedded server or the stack, again and again. Card
payments use the payments service's sandbox provider (its test cards), the default
outside production."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, ean13, eventually, stocked_product
from tests.browser.helpers import euros, expect_text, line

pytestmark = pytest.mark.browser

MANAGER_PIN = "4827"


@dataclass(frozen=True)
class Item:
    id: str
    sku: str
    name: str
    price_minor: int
    barcode: str
    stock: int


@dataclass(frozen=True)
class TenderShop:
    outlet_id: str
    outlet_name: str
    cashier: tuple[str, str]
    manager: tuple[str, str]
    manager_id: str
    manager_name: str
    items: dict[str, Item]


@pytest.fixture(scope="module")
def tshop(server: Server) -> TenderShop:
    """An outlet of our own (default pricing: prices include tax, a discount above 20 %
    needs a manager), a cashier, a manager with a PIN, and one product per test."""
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        outlet = admin.post("/api/identity/outlets", json={"name": f"Tender Deli {suffix}", "currency": "EUR"})
        assert outlet.status_code == 201, outlet.text
        outlet = outlet.json()
        people: dict[str, tuple[str, str]] = {}
        manager_id = ""
        for role in ("cashier", "manager"):
            email = f"tender-{role}-{suffix.lower()}@example.com"
            password = f"{secrets.token_urlsafe(12)}-Aa1"
            body: dict[str, Any] = {
                "email": email,
                "name": f"Alex {role.title()} {suffix}",
                "password": password,
                "role": role,
                "outlets": [outlet["id"]],
            }
            if role == "manager":
                body["pin"] = MANAGER_PIN
            created = admin.post("/api/identity/users", json=body)
            assert created.status_code == 201, created.text
            if role == "manager":
                manager_id = created.json()["id"]
            people[role] = (email, password)
        items: dict[str, Item] = {}
        for key, name, price, stock in (
            ("split", "Picnic hamper", 1250, 10),
            ("split3", "Hamper for three", 1001, 10),
            ("splitphone", "Gift box", 800, 10),
            ("splitdecline", "Wine crate", 900, 10),
            ("decline", "Olive oil 1 l", 1490, 8),
            ("discount", "Cheese board", 1000, 10),
            ("parked", "Sourdough loaf", 420, 10),
            ("other", "Espresso beans", 890, 10),
            ("live", "Truffle salami", 750, 9),
            ("pending", "Saffron 1 g", 990, 5),
        ):
            sku = f"TND-{suffix}-{key.upper()}"
            barcode = ean13("2" + str(secrets.randbelow(10**11)).zfill(11))
            product = stocked_product(
                admin,
                outlet["id"],
                {"sku": sku, "name": name, "barcodes": [barcode], "price_minor": price, "tax_class": "reduced"},
                stock,
                "tender tests",
            )
            items[key] = Item(product["id"], sku, name, price, barcode, stock)
        for item in items.values():
            eventually(lambda i=item: admin.get(f"/api/sales/prices/{i.id}").status_code == 200, f"sales to know {item.name}")
    return TenderShop(
        outlet["id"], outlet["name"], people["cashier"], people["manager"], manager_id, f"Alex Manager {suffix}", items
    )


@pytest.fixture
def manager_token(server: Server, tshop: TenderShop) -> str:
    return server.token(*tshop.manager)


def level(server: Server, token: str, outlet_id: str, product_id: str) -> dict[str, int]:
    with server.client(token) as http:
        response = http.get(f"/api/inventory/stock/{outlet_id}/{product_id}")
        response.raise_for_status()
        return response.json()


def till(open_tab: Callable[..., Tab], tshop: TenderShop, width: int = 1280, height: int = 800) -> Any:
    tab = open_tab(width, height)
    page = tab.login(*tshop.cashier)
    page.get_by_test_id("till").wait_for()
    page.locator("body").click(position={"x": 5, "y": height - 10})
    return page


def add(page: Any, item: Item) -> None:
    """Find the product by its SKU and tap it (the scanner is tested in test_till.py)."""
    search = page.get_by_test_id("till-search")
    search.fill(item.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{item.sku}"]').click()
    expect_text(line(page, item.id), re.escape(item.name))


def receipt_sale_id(page: Any, server: Server, token: str) -> str:
    """The id of the sale whose receipt the till shows, found by its receipt number (the
    receipt prints no ids)."""
    number = page.get_by_test_id("receipt").get_by_test_id("receipt-number").inner_text().strip()
    with server.client(token) as http:
        found = http.get("/api/sales", params={"receipt_number": number}).json()["items"]
    assert len(found) == 1, (number, found)
    return found[0]["id"]


def sale(server: Server, token: str, sale_id: str) -> dict[str, Any]:
    with server.client(token) as http:
        response = http.get(f"/api/sales/{sale_id}")
        response.raise_for_status()
        return response.json()


def test_split_tender_card_and_cash_with_change(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["split"]
    page = till(open_tab, tshop)
    add(page, item)
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(item.price_minor)))

    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    expect_text(dialog.get_by_test_id("pay-total"), re.escape(euros(1250)))
    page.keyboard.press("F7")  # split: starts as two even parts, card + cash
    expect(dialog.get_by_role("radio", name=re.compile("^Split"))).to_be_checked()
    expect(dialog.get_by_label("Part 1 amount")).to_have_value("6.25")
    expect(dialog.get_by_label("Part 2 paid by")).to_have_value("cash")
    dialog.get_by_label("Part 1 test card").select_option("pm_card_visa")
    dialog.get_by_label("Part 1 amount").fill("10")
    expect_text(dialog.get_by_test_id("split-box"), r"over the total by.*" + re.escape(euros(375)))
    dialog.get_by_label("Part 2 amount").fill("2.50")
    expect_text(dialog.get_by_test_id("split-box"), r"add up to the total · cash part " + re.escape(euros(250)))
    expect_text(dialog.get_by_test_id("change-box"), r"Still to pay.*" + re.escape(euros(250)))
    dialog.get_by_label("Cash received").fill("5")
    expect_text(dialog.get_by_test_id("change-due"), re.escape(euros(250)))
    page.screenshot(path=str(screenshots / "till-split-desktop.png"))
    dialog.get_by_test_id("complete-split").click()

    receipt = page.get_by_test_id("receipt")
    expect_text(receipt, re.escape(item.name))
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(1250)))
    expect_text(receipt.get_by_test_id("receipt-tender-card"), re.escape(euros(1000)))
    expect_text(receipt.get_by_test_id("receipt-tender-cash"), re.escape(euros(500)))
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(250)))
    expect_text(page.get_by_test_id("change-amount"), re.escape(euros(250)))

    stored = sale(server, manager_token, receipt_sale_id(page, server, manager_token))
    assert stored["status"] == "COMPLETED"
    assert [(t["kind"], t["amount_minor"], t["tendered_minor"]) for t in stored["tenders"]] == [
        ("card", 1000, 1000),
        ("cash", 250, 500),
    ]
    assert stored["change_minor"] == 250


def in_view_and_on_top(page: Any, locator: Any) -> None:
    """The element is wholly inside the window and nothing covers its middle: a person
    sees it and can tap it without scrolling."""
    from playwright.sync_api import expect

    expect(locator).to_be_in_viewport(ratio=1)
    box = locator.bounding_box()
    assert box is not None
    hit = page.evaluate(
        "([x, y, id]) => document.elementFromPoint(x, y)?.closest(`[data-testid='${id}']`) !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, locator.get_attribute("data-testid")],
    )
    assert hit, f"something covers {locator}"


def test_split_evenly_in_three_two_cards_and_cash(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["split3"]
    page = till(open_tab, tshop)  # 1280 x 800
    add(page, item)
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    expect_text(dialog.get_by_test_id("pay-total"), re.escape(euros(1001)))
    page.keyboard.press("F7")
    dialog.get_by_test_id("split-even-n").select_option("3")
    dialog.get_by_test_id("split-even").click()
    # €10.01 in 3: the first part gets the extra cent; the third becomes the cash part.
    expect(dialog.get_by_test_id("split-part")).to_have_count(3)
    for i, value in enumerate(("3.34", "3.34", "3.33"), 1):
        expect(dialog.get_by_label(f"Part {i} amount")).to_have_value(value)
    dialog.get_by_label("Part 2 paid by").select_option("card")
    dialog.get_by_label("Part 3 paid by").select_option("cash")
    dialog.get_by_label("Part 2 test card").select_option("pm_card_mastercard")
    complete = dialog.get_by_test_id("complete-split")
    in_view_and_on_top(page, complete)

    # Parts that do not add up are refused in the dialog, with what is missing.
    dialog.get_by_label("Part 2 amount").fill("3")
    expect_text(dialog.get_by_test_id("split-box"), r"Not in a part yet.*" + re.escape(euros(34)))
    dialog.get_by_label("Cash received").fill("5")
    complete.click()
    expect_text(dialog.get_by_test_id("pay-error"), re.escape(f"{euros(34)} of the {euros(1001)} is in no part yet"))
    dialog.get_by_label("Part 2 amount").fill("3.34")
    expect_text(dialog.get_by_test_id("split-box"), "add up to the total")
    expect_text(dialog.get_by_test_id("change-due"), re.escape(euros(167)))
    in_view_and_on_top(page, complete)
    page.screenshot(path=str(screenshots / "till-split3-desktop.png"))
    complete.click()

    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(1001)))
    cards = receipt.get_by_test_id("receipt-tender-card")
    expect(cards).to_have_count(2)
    expect(cards).to_have_text([euros(334), euros(334)])
    expect_text(receipt.get_by_test_id("receipt-tender-cash"), re.escape(euros(500)))
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(167)))

    stored = sale(server, manager_token, receipt_sale_id(page, server, manager_token))
    assert stored["status"] == "COMPLETED"
    assert [(t["kind"], t["amount_minor"], t["tendered_minor"]) for t in stored["tenders"]] == [
        ("card", 334, 334),
        ("card", 334, 334),
        ("cash", 333, 500),
    ]
    assert stored["change_minor"] == 167


def test_split_on_a_phone_the_complete_button_is_in_reach(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["splitphone"]
    page = open_tab(360, 740).login(*tshop.cashier)
    page.get_by_test_id("till").wait_for()
    add(page, item)
    page.get_by_test_id("pay-button").click()
    dialog = page.get_by_test_id("pay-dialog")
    dialog.get_by_role("radio", name=re.compile("^Split")).check()
    dialog.get_by_role("button", name="+ Card part").click()  # takes nothing: the two even parts are complete
    expect(dialog.get_by_test_id("split-part")).to_have_count(3)
    dialog.get_by_role("button", name="Remove part 3").click()
    expect(dialog.get_by_test_id("split-part")).to_have_count(2)
    dialog.get_by_label("Part 2 paid by").select_option("card")
    complete = dialog.get_by_test_id("complete-split")
    in_view_and_on_top(page, complete)
    complete.click()
    receipt = page.get_by_test_id("receipt")
    expect(receipt.get_by_test_id("receipt-tender-card")).to_have_text([euros(400), euros(400)])


def test_second_card_of_a_split_declined_gives_the_first_back(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["splitdecline"]
    page = till(open_tab, tshop)
    add(page, item)
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    page.keyboard.press("F7")
    dialog.get_by_label("Part 2 paid by").select_option("card")
    dialog.get_by_label("Part 2 test card").select_option("pm_card_chargeDeclined")
    with page.expect_response(lambda r: r.url.endswith("/api/sales") and r.request.method == "POST") as posted:
        dialog.get_by_test_id("complete-split").click()
    assert posted.value.status == 402
    sale_id = posted.value.request.post_data_json["id"]
    expect_text(dialog.get_by_test_id("pay-error"), r"card was declined.*no part of the split was taken")
    # The first card was charged, then given back when the second was declined.
    with server.client(manager_token) as http:
        payment = http.get(f"/api/payments/payments/{sale_id}")
    assert payment.status_code == 200, payment.text
    assert payment.json()["status"] == "declined"
    assert [(t["kind"], t["amount_minor"], t["status"]) for t in payment.json()["tenders"]] == [
        ("card", 450, "reversed"),
        ("card", 450, "declined"),
    ]

    dialog.get_by_role("button", name="Try another card").click()
    dialog.get_by_label("Part 2 test card").select_option("pm_card_mastercard")
    dialog.get_by_test_id("complete-split").click()
    receipt = page.get_by_test_id("receipt")
    expect(receipt.get_by_test_id("receipt-tender-card")).to_have_text([euros(450), euros(450)])


def test_card_decline_sells_nothing_then_cash(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str, screenshots: Path
) -> None:
    item = tshop.items["decline"]
    before = level(server, manager_token, tshop.outlet_id, item.id)
    page = till(open_tab, tshop)
    add(page, item)
    page.get_by_role("button", name=f"One more {item.name}").click()  # two of them
    total = 2 * item.price_minor

    page.get_by_test_id("pay-button").click()
    dialog = page.get_by_test_id("pay-dialog")
    dialog.get_by_role("radio", name=re.compile("^Card")).check()
    dialog.get_by_label(re.compile("^Test card")).select_option("pm_card_chargeDeclinedInsufficientFunds")
    dialog.get_by_role("button", name=f"Charge {euros(total)} to the card").click()

    error = dialog.get_by_test_id("pay-error")
    expect_text(error, r"card was declined \(insufficient funds\)")
    expect_text(error, r"Nothing was sold and nothing was charged")
    page.screenshot(path=str(screenshots / "till-declined-desktop.png"))
    # Nothing sold: the stock is as it was (nothing deducted, nothing left reserved).
    after = level(server, manager_token, tshop.outlet_id, item.id)
    assert (after["on_hand"], after["available"]) == (before["on_hand"], before["available"])

    dialog.get_by_role("button", name="Take cash instead").click()
    page.keyboard.press("F9")  # exact cash
    page.keyboard.press("Enter")
    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(total)))
    expect_text(receipt.get_by_test_id("receipt-tender-cash"), re.escape(euros(total)))
    stored = sale(server, manager_token, receipt_sale_id(page, server, manager_token))
    assert [t["kind"] for t in stored["tenders"]] == ["cash"]
    eventually(
        lambda: level(server, manager_token, tshop.outlet_id, item.id)["on_hand"] == before["on_hand"] - 2,
        "the cash sale to take 2 off the stock",
    )


def test_discount_above_limit_needs_the_managers_pin(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["discount"]
    page = till(open_tab, tshop, 360, 740)  # a phone
    add(page, item)
    page.get_by_test_id("view-sale").click()  # a phone shows the sale's lines in a view of their own
    page.get_by_role("button", name=f"Discount on {item.name}").click()
    dialog = page.get_by_test_id("discount-dialog")
    dialog.get_by_label("Percent (%)").check()
    dialog.get_by_label("Discount in percent").fill("30")
    dialog.get_by_role("button", name="Apply discount").click()
    expect_text(dialog.get_by_test_id("discount-problem"), "reason")  # a reason is required
    dialog.get_by_label("Reason", exact=True).fill("Damaged packaging")
    dialog.get_by_role("button", name="Apply discount").click()
    expect(dialog).to_be_hidden()

    # The server's quote: 30 % off €10.00 is €7.00, above the 20 % limit.
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(700)))
    expect_text(page.get_by_test_id("cart-discount-total"), re.escape(euros(300)))
    expect_text(line(page, item.id).get_by_test_id("line-discount"), r"30 %.*Damaged packaging")
    expect_text(page.get_by_test_id("needs-approval"), "manager")
    page.screenshot(path=str(screenshots / "till-discount-phone.png"), full_page=True)

    page.get_by_test_id("pay-button").click()
    pay = page.get_by_test_id("pay-dialog")
    expect_text(pay.get_by_test_id("pay-total"), re.escape(euros(700)))
    pay.get_by_test_id("quick-amount").first.click()
    pay.get_by_test_id("complete-cash").click()

    approval = page.get_by_role("dialog", name="Manager approval")
    expect_text(approval, "needs a manager")
    approval.get_by_role("combobox").select_option(label=tshop.manager_name)
    approval.get_by_label("Manager PIN").fill("9173")  # wrong: refused, nothing sold
    approval.get_by_role("button", name="Approve").click()
    expect_text(approval, "PIN was not accepted")
    approval.get_by_label("Manager PIN").fill(MANAGER_PIN)
    approval.get_by_role("button", name="Approve").click()

    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-discount"), re.escape(euros(300)))
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(700)))
    stored = sale(server, manager_token, receipt_sale_id(page, server, manager_token))
    assert stored["total_minor"] == 700
    assert stored["discount_minor"] == 300
    assert stored["approved_by"] == tshop.manager_id


def test_park_start_another_sale_then_resume_and_sell(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str
) -> None:
    from playwright.sync_api import expect

    parked_item, other = tshop.items["parked"], tshop.items["other"]
    page = till(open_tab, tshop)
    add(page, parked_item)
    page.get_by_role("button", name=f"One more {parked_item.name}").click()
    expect(line(page, parked_item.id).get_by_test_id("line-qty")).to_have_value("2")

    page.keyboard.press("F6")  # park
    park = page.get_by_test_id("park-dialog")
    note = f"Blue coat {uuid.uuid4().hex[:4]}"
    park.get_by_label("Note (optional)").fill(note)
    park.get_by_role("button", name="Park the sale").click()
    expect_text(page.get_by_test_id("till-message"), re.escape(note))
    expect_text(page.get_by_test_id("cart-count"), "empty")
    with server.client(server.token(*tshop.cashier)) as http:
        listed = http.get("/api/sales/parked", params={"outlet_id": tshop.outlet_id}).json()
    assert [p["note"] for p in listed].count(note) == 1

    # The next customer: another sale, paid.
    add(page, other)
    page.keyboard.press("F4")
    page.keyboard.press("F9")
    page.keyboard.press("Enter")
    expect_text(page.get_by_test_id("receipt"), re.escape(other.name))
    page.get_by_test_id("new-sale").click()

    # The first customer is back: resume and sell.
    page.keyboard.press("F7")
    parked = page.get_by_test_id("parked-list")
    row = parked.get_by_test_id("parked-cart").filter(has_text=note)
    expect_text(row, r"2 items")
    row.get_by_role("button", name=re.compile("^Resume")).click()
    expect(parked).to_be_hidden()
    expect(line(page, parked_item.id).get_by_test_id("line-qty")).to_have_value("2")
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(2 * parked_item.price_minor)))
    page.keyboard.press("F4")
    page.keyboard.press("F9")
    page.keyboard.press("Enter")
    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(2 * parked_item.price_minor)))
    expect_text(receipt, re.escape(parked_item.name))
    stored = sale(server, manager_token, receipt_sale_id(page, server, manager_token))
    assert [(ln["product_id"], ln["qty"]) for ln in stored["lines"]] == [(parked_item.id, 2)]
    with server.client(server.token(*tshop.cashier)) as http:
        listed = http.get("/api/sales/parked", params={"outlet_id": tshop.outlet_id}).json()
    assert note not in [p["note"] for p in listed]


def test_live_stock_drops_when_another_till_sells(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["live"]
    start = level(server, manager_token, tshop.outlet_id, item.id)["available"]
    page = till(open_tab, tshop)
    add(page, item)
    qty = page.get_by_test_id("line-qty")
    qty.fill(str(start - 1))
    qty.press("Tab")
    stock_cell = line(page, item.id).get_by_test_id("line-stock")
    expect_text(stock_cell, rf"{start} in stock")
    expect(page.get_by_test_id("stock-live")).to_have_attribute("data-state", "live", timeout=15_000)

    # Another till sells 3 through the API.
    with server.client(manager_token) as http:
        sold = http.post(
            "/api/sales",
            json={
                "id": str(uuid.uuid4()),
                "outlet_id": tshop.outlet_id,
                "lines": [{"product_id": item.id, "qty": 3}],
                "tenders": [{"kind": "cash", "amount_minor": 3 * item.price_minor}],
            },
        )
        assert sold.status_code == 201, sold.text

    # Without a reload, and well within the 20 s polling fallback: the stream did it.
    expect_text(stock_cell, rf"Only {start - 3} in stock: 2 too many", timeout=10_000)
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros((start - 1) * item.price_minor)))


def test_void_by_a_cashier_needs_the_managers_pin(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str
) -> None:
    from playwright.sync_api import expect

    item = tshop.items["other"]
    before = level(server, manager_token, tshop.outlet_id, item.id)

    def voided() -> list[dict[str, Any]]:
        with server.client(manager_token) as http:
            page_ = http.get("/api/sales", params={"outlet_id": tshop.outlet_id, "status": "VOIDED"}).json()
        return page_["items"]

    voids_before = {v["id"] for v in voided()}
    page = till(open_tab, tshop)
    add(page, item)
    page.keyboard.press("Shift+F8")
    dialog = page.get_by_test_id("void-dialog")
    dialog.get_by_role("button", name="Void (manager approves)").click()
    expect_text(dialog.get_by_test_id("void-error"), "reason")
    dialog.get_by_label("Reason for the void").fill("Rung up by mistake")
    dialog.get_by_role("button", name="Void (manager approves)").click()
    approval = page.get_by_role("dialog", name="Manager approval")
    expect_text(approval, "Voiding this sale")
    approval.get_by_label("Manager PIN").fill(MANAGER_PIN)
    approval.get_by_role("button", name="Approve").click()

    expect_text(page.get_by_test_id("till-message"), "voided")
    expect_text(page.get_by_test_id("cart-count"), "empty")
    expect(approval).to_be_hidden()
    new = [v for v in voided() if v["id"] not in voids_before]
    assert [v["total_minor"] for v in new] == [item.price_minor]
    assert sale(server, manager_token, new[0]["id"])["approved_by"] == tshop.manager_id
    after = level(server, manager_token, tshop.outlet_id, item.id)
    assert (after["on_hand"], after["available"]) == (before["on_hand"], before["available"])


def test_unknown_card_outcome_locks_payment_and_names_the_sale(
    open_tab: Callable[..., Tab], server: Server, tshop: TenderShop, manager_token: str
) -> None:
    """A card processor that never answers: the sales service answers 503 PENDING. The
    till must not let the cashier take payment again, and says which sale to look for."""
    from playwright.sync_api import expect

    item = tshop.items["pending"]
    page = till(open_tab, tshop)
    add(page, item)
    page.get_by_test_id("pay-button").click()
    dialog = page.get_by_test_id("pay-dialog")
    dialog.get_by_role("radio", name=re.compile("^Card")).check()
    dialog.get_by_label(re.compile("^Test card")).select_option("pm_card_sandbox_timeoutAlways")
    dialog.get_by_role("button", name=f"Charge {euros(item.price_minor)} to the card").click()
    expect_text(dialog, "Charging the card")  # waiting is shown

    unknown = dialog.get_by_test_id("pay-unknown")
    expect_text(unknown, "Do not take payment again", timeout=90_000)
    sale_id = dialog.get_by_test_id("unknown-sale-id").inner_text().strip()
    assert sale(server, manager_token, sale_id)["status"] == "PENDING"
    expect(dialog.get_by_role("button", name=re.compile("^Charge"))).to_be_disabled()
    expect(dialog.get_by_role("radio", name=re.compile("^Cash"))).to_be_disabled()

    # Closing and opening the dialog again does not unlock it.
    dialog.get_by_role("button", name=re.compile("^Cancel")).click()
    page.get_by_test_id("pay-button").click()
    expect_text(dialog.get_by_test_id("pay-unknown"), re.escape(sale_id))
    expect(dialog.get_by_test_id("complete-cash")).to_be_disabled()


def test_a_parked_sale_names_its_register_not_its_id(open_tab: Callable[..., Tab], server: Server) -> None:
    from tests.browser.test_refund import build_till_shop

    shop = build_till_shop(server, registers=("Front counter",))
    page = open_tab(1280, 800).login(*shop.cashier)
    expect_text(page.get_by_test_id("current-register"), r"^Front counter$")
    page.get_by_test_id("till-search").fill(shop.coffee.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{shop.coffee.sku}"]').click()
    expect_text(line(page, shop.coffee.id), re.escape(shop.coffee.name))
    page.keyboard.press("F6")
    page.get_by_test_id("park-dialog").get_by_role("button", name="Park the sale").click()
    expect_text(page.get_by_test_id("cart-count"), "empty")
    page.keyboard.press("F7")
    row = page.get_by_test_id("parked-list").get_by_test_id("parked-cart")
    expect_text(row, r"1 item · parked .* · on Front counter")
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", row.inner_text()), row.inner_text()
