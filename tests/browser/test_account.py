"""My account and the registers a manager makes, in a real browser (Debian's Chromium),
as the people do it (issue 17, "blocked out of the box"):

1. a manager with no PIN yet: the cashier's refund cannot be approved and the approval
   box says where the PIN is set; the manager sets one in My account (a PIN identity
   refuses is caught on the screen first), and the cashier's refund is then approved
   with it;
2. a cashier changes their password in My account on a phone (a wrong current password
   is refused in words): this tab stays logged in, a session elsewhere ends, the old
   password no longer logs in and the new one does;
3. a manager adds two registers to their outlet in Back office -> Registers (the only
   outlet offered is theirs), switches one off, and a cashier then picks the other at
   the till, whose bar names it.

Each test builds its own outlet and people through the API (tests/browser/test_refund.py)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import euros, expect_text, overflow
from tests.browser.test_refund import build_till_shop, find_sale, ring_cash_sale, sale_detail

pytestmark = pytest.mark.browser


def my_account(page: Any) -> None:
    page.get_by_role("link", name=re.compile(r"^My account")).click()
    page.get_by_role("heading", name="My account", level=1).wait_for()


def test_manager_sets_a_pin_in_my_account_and_approves_a_cashier_refund(
    open_tab: Callable[..., Tab], server: Server, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    shop = build_till_shop(server, registers=("Front till",), manager_pin=None)
    cashier_token = server.token(*shop.cashier)
    coffee = shop.coffee
    sale = ring_cash_sale(server, cashier_token, shop.outlet_id, shop.registers["Front till"], [(coffee.id, 1)], 500)
    eventually(lambda: sale_detail(server, cashier_token, sale["sale_id"])["fulfilment"] == "fulfilled", "the sale's fulfilment")

    # The cashier's refund: no manager has a PIN, and the box says where one is set.
    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("till").wait_for()
    page.get_by_role("navigation", name="Till").get_by_role("link", name="Refund").click()
    find_sale(page, sale["receipt_number"])
    page.get_by_label(f"Refund quantity, {coffee.name}").fill("1")
    page.get_by_label("Reason").fill("Spilt")
    refund_button = page.get_by_role("button", name=re.compile(r"^Refund " + re.escape(euros(coffee.price_minor))))
    refund_button.click()
    approval = page.get_by_test_id("manager-approval")
    expect_text(
        approval.get_by_test_id("no-manager-pin"), r"No manager of this outlet has a PIN yet\. A manager sets one in My account"
    )
    expect(approval.get_by_label("Manager PIN")).to_have_count(0)
    approval.get_by_role("button", name="Cancel").click()

    # The manager, on their own screen: My account, from the name in the top bar.
    mtab = open_tab(1280, 800)
    mpage = mtab.login(*shop.manager)
    my_account(mpage)
    pin_form = mpage.get_by_test_id("pin-form")
    expect_text(pin_form.get_by_test_id("pin-status"), r"No PIN yet")
    # A straight run is caught on the screen; nothing is sent.
    sent: list[str] = []
    mpage.on("request", lambda r: sent.append(r.url) if r.url.endswith("/api/identity/me/pin") else None)
    pin_form.get_by_label("New PIN", exact=True).fill("1234")
    pin_form.get_by_label("New PIN again").fill("1234")
    pin_form.get_by_label("Your password", exact=True).fill(shop.manager[1])
    pin_form.get_by_role("button", name="Set PIN").click()
    expect_text(pin_form.get_by_test_id("pin-error"), r"The PIN must not be a straight run such as 1234\.")
    assert sent == []
    # A wrong current password is refused by identity, in words.
    pin = "4826"
    pin_form.get_by_label("New PIN", exact=True).fill(pin)
    pin_form.get_by_label("New PIN again").fill(pin)
    pin_form.get_by_label("Your password", exact=True).fill("not my password at all")
    pin_form.get_by_role("button", name="Set PIN").click()
    expect_text(pin_form.get_by_test_id("pin-error"), r"Your current password is not right, so nothing was changed")
    pin_form.get_by_label("Your password", exact=True).fill(shop.manager[1])
    pin_form.get_by_role("button", name="Set PIN").click()
    expect_text(pin_form.get_by_test_id("pin-done"), r"Your PIN is set\.")
    expect_text(pin_form.get_by_test_id("pin-status"), r"PIN set")
    mpage.screenshot(path=str(screenshots / "account-pin-desktop.png"))

    # The cashier asks again: the manager is offered, and the PIN approves the refund.
    refund_button.click()
    approval.get_by_label("Manager PIN").fill(pin)
    expect_text(approval.get_by_role("combobox", name="Manager"), re.escape(shop.manager_name))
    approval.get_by_role("button", name="Approve").click()
    expect_text(page.get_by_test_id("give-back"), rf"^Give back {re.escape(euros(coffee.price_minor))} in cash$")
    expect_text(page.get_by_test_id("refund-slip"), r"approved by a manager")

    stored = sale_detail(server, server.token(*shop.manager), sale["sale_id"])
    assert [r["status"] for r in stored["refunds"]] == ["COMPLETED"]
    assert stored["refunded_minor"] == coffee.price_minor


def test_user_changes_their_password_and_logs_in_with_the_new_one(
    open_tab: Callable[..., Tab], server: Server, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    shop = build_till_shop(server, registers=("Front till",))
    email, old_password = shop.cashier
    new_password = f"quiet harbour lights {secrets.token_hex(3)}"
    # The same cashier is logged in elsewhere too (another till): that session will end.
    with server.client() as elsewhere:
        assert elsewhere.post("/api/identity/login", json={"email": email, "password": old_password}).status_code == 200
        assert elsewhere.post("/api/identity/refresh").status_code == 200

        tab = open_tab(360, 740)  # a phone: the top bar shows the account as an icon
        page = tab.login(email, old_password)
        page.get_by_test_id("till").wait_for()
        expect(page.get_by_test_id("my-account")).to_be_visible()
        assert overflow(page) <= 0  # the account's icon fits in the phone's top bar
        my_account(page)
        assert overflow(page) <= 0
        expect_text(page.get_by_test_id("account-who"), re.escape(email))
        expect(page.get_by_test_id("pin-form")).to_have_count(0)  # cashiers approve nothing
        form = page.get_by_test_id("password-form")
        form.get_by_label("Current password").fill("not my password at all")
        form.get_by_label("New password", exact=True).fill(new_password)
        form.get_by_label("New password again").fill(new_password)
        form.get_by_role("button", name="Change password").click()
        expect_text(form.get_by_test_id("password-error"), r"Your current password is not right, so nothing was changed")
        form.get_by_label("Current password").fill(old_password)
        form.get_by_label("New password again").fill(new_password + "x")
        form.get_by_role("button", name="Change password").click()
        expect_text(form.get_by_test_id("password-error"), r"The two new passwords are not the same")
        form.get_by_label("New password again").fill(new_password)
        form.get_by_role("button", name="Change password").click()
        expect_text(form.get_by_test_id("password-done"), r"Your password is changed\.")
        page.screenshot(path=str(screenshots / "account-password-phone.png"), full_page=True)

        # This tab is still logged in (its refresh cookie was kept); the other session is over.
        assert elsewhere.post("/api/identity/refresh").status_code == 401
        page.get_by_role("link", name="Back to the till").click()
        page.get_by_test_id("till").wait_for()
        with page.expect_response(lambda r: r.url.endswith("/api/identity/refresh")) as refreshed:
            page.evaluate("fetch('/api/identity/refresh', {method: 'POST', credentials: 'same-origin'})")
        assert refreshed.value.status == 200

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(old_password)
    page.get_by_role("button", name="Log in").click()
    expect_text(page.get_by_test_id("login-error"), r"Wrong email or password")
    page.get_by_label("Password").fill(new_password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("till").wait_for()


def test_manager_adds_a_register_and_a_cashier_picks_it_at_the_till(open_tab: Callable[..., Tab], server: Server) -> None:
    from playwright.sync_api import expect

    shop = build_till_shop(server, registers=())
    suffix = uuid.uuid4().hex[:4]
    names = (f"Window {suffix}", f"Counter {suffix}")
    manager_token = server.token(*shop.manager)

    tab = open_tab(1280, 800)
    page = tab.login(*shop.manager)
    page.locator("#reports-title").wait_for()
    page.get_by_role("navigation", name="Back office").get_by_role("link", name="Registers", exact=True).click()
    page.get_by_role("heading", name="Registers", level=1).wait_for()
    registers = page.get_by_test_id("registers")
    outlet = registers.get_by_label("Registers of outlet")
    expect(outlet.locator("option")).to_have_text([shop.outlet_name])  # only the manager's own outlet
    expect_text(registers.get_by_test_id("registers-table"), r"No registers yet")
    for name in names:
        registers.get_by_label("New register name").fill(name)
        registers.get_by_role("button", name="Add register").click()
        expect_text(registers, rf"Register {re.escape(name)} added to {re.escape(shop.outlet_name)}")
    window = registers.get_by_test_id("registers-table").locator("tr", has_text=names[0])
    counter = registers.get_by_test_id("registers-table").locator("tr", has_text=names[1])
    expect_text(counter, "in use")
    # A third, switched off again: tills no longer offer it.
    registers.get_by_label("New register name").fill(f"Spare {suffix}")
    registers.get_by_role("button", name="Add register").click()
    spare = registers.get_by_test_id("registers-table").locator("tr", has_text=f"Spare {suffix}")
    spare.get_by_role("button", name="Switch off").click()
    expect_text(spare, "switched off")
    expect_text(window, "in use")

    with server.client(manager_token) as http:
        listed = http.get("/api/identity/registers", params={"outlet_id": shop.outlet_id}).json()
    assert sorted((r["name"], r["active"]) for r in listed) == sorted(
        [(names[0], True), (names[1], True), (f"Spare {suffix}", False)]
    )

    # The cashier logs in: the till asks which register it is, offering the two in use.
    ctab = open_tab(1280, 800)
    cpage = ctab.login(*shop.cashier)
    cpage.get_by_role("heading", name="Which register is this?").wait_for()
    offered = cpage.locator("ul.registers").get_by_role("button")
    expect(offered).to_have_text(sorted(names))
    offered.filter(has_text=names[1]).click()
    cpage.get_by_test_id("till").wait_for()
    expect_text(cpage.get_by_test_id("current-register"), rf"^{re.escape(names[1])}$")
    expect_text(cpage.get_by_test_id("no-shift-banner"), rf"No shift open on {re.escape(names[1])}")


def test_a_second_cashier_takes_over_the_till_with_their_pin_and_sells_as_themselves(
    open_tab: Callable[..., Tab], server: Server, screenshots: Path
) -> None:
    """Issue 17: shops share one log-in when switching cashier takes an e-mail and a
    password; the by-cashier figures then mean nothing. Here the next cashier taps their
    name and enters their PIN: the cart stays, and the sale is theirs."""
    from playwright.sync_api import expect

    shop = build_till_shop(server, registers=("Front till",))
    suffix = uuid.uuid4().hex[:6]
    second = (f"second-cashier-{suffix}@example.com", f"{secrets.token_urlsafe(12)}-Aa1")
    second_name = f"Sam Second {suffix}"
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        created = admin.post(
            "/api/identity/users",
            json={"email": second[0], "name": second_name, "password": second[1], "role": "cashier", "outlets": [shop.outlet_id]},
        )
        assert created.status_code == 201, created.text
        second_id = created.json()["id"]
    with server.client(server.token(*second)) as http:
        assert http.put("/api/identity/me/pin", json={"current_password": second[1], "pin": "3917"}).status_code == 204

    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    page.get_by_test_id("till").wait_for()  # one register: taken without asking
    first_name = page.get_by_test_id("my-account").inner_text()

    # The first cashier starts a sale; the second takes over mid-cart.
    search = page.get_by_test_id("till-search")
    search.fill(shop.coffee.sku)
    page.locator(f'[data-testid=search-results] [data-sku="{shop.coffee.sku}"]').click()
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(shop.coffee.price_minor)))

    page.get_by_test_id("switch-cashier").click()
    dialog = page.get_by_test_id("switch-cashier-dialog")
    people = dialog.get_by_role("group", name="Staff at this outlet")
    expect(people.get_by_role("button", name=second_name)).to_be_visible()
    expect(people.get_by_role("button", name=shop.manager_name)).to_be_visible()  # managers cover tills too
    assert first_name.split(" (")[0] not in people.inner_text()  # not the one already selling
    people.get_by_role("button", name=second_name).click()
    dialog.get_by_label(f"PIN for {second_name}").fill("0000")
    dialog.get_by_role("button", name="Switch").click()
    expect_text(dialog, rf"That PIN was not accepted for {re.escape(second_name)}")
    dialog.get_by_label(f"PIN for {second_name}").fill("3917")
    page.screenshot(path=str(screenshots / "switch-cashier-desktop.png"))
    dialog.get_by_role("button", name="Switch").click()
    expect_text(page.get_by_test_id("switched-note"), rf"{re.escape(second_name)} is now selling on this till")
    expect_text(page.get_by_test_id("my-account"), re.escape(second_name))
    expect(page.get_by_test_id("switch-cashier-dialog")).to_be_hidden()
    # The cart stayed; the second cashier finishes the sale.
    expect_text(page.get_by_test_id("cart-total"), re.escape(euros(shop.coffee.price_minor)))
    page.keyboard.press("F4")
    page.get_by_test_id("cash-input").fill("5")
    page.get_by_test_id("complete-cash").click()
    receipt_number = page.get_by_test_id("receipt").get_by_test_id("receipt-number").inner_text().strip()

    with server.client(server.token(*shop.manager)) as http:
        found = http.get("/api/sales", params={"outlet_id": shop.outlet_id, "receipt_number": receipt_number}).json()["items"]
    assert [s["cashier_id"] for s in found] == [second_id]
    # The till's session is the second cashier's now: a refresh (as after a reload) says so.
    with page.expect_response(lambda r: r.url.endswith("/api/identity/refresh")) as refreshed:
        page.evaluate("fetch('/api/identity/refresh', {method: 'POST', credentials: 'same-origin'})")
    assert refreshed.value.status == 200 and refreshed.value.json()["user"]["id"] == second_id
