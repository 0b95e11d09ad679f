"""Receipts a shop can hand out (issue 17): a manager sets the outlet's receipt (shop
name, address, VAT number, header, footer) in the back office, a cashier sells at the
till and the receipt shows them (and no internal id), then e-mails it to a customer:
the SMTP sink (scripts/mail_sink.py, its own process) receives it."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import euros, expect_text, line, overflow
from tests.smtp_sink import read_mail, text_of

pytestmark = pytest.mark.browser

ADDRESS = ["7 Harbour Row", "Cobh P24 AB12"]
HEADER = "Fresh bread from 7am"
FOOTER = ["Returns within 14 days with this receipt", "Thank you, come again!"]


def received(mail_dir: Path, to: str) -> list[EmailMessage]:
    return [message for message in read_mail(mail_dir) if message["To"] == to]


def test_receipt_settings_print_on_the_till_receipt_which_is_emailed(
    open_tab: Callable[..., Tab], server: Server, screenshots: Path
) -> None:
    from playwright.sync_api import expect

    if server.mail_dir is None:
        pytest.skip("the server's mail is not where this test can read it (POS_BROWSER_BASE_URL names an outside server)")
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        outlet = admin.post("/api/identity/outlets", json={"name": f"Harbour Bakery {suffix}", "currency": "EUR"}).json()
        people = {}
        for role in ("cashier", "manager"):
            who = (f"receipts-{role}-{suffix.lower()}@example.com", f"{secrets.token_urlsafe(12)}-Aa1")
            made = admin.post(
                "/api/identity/users",
                json={
                    "email": who[0],
                    "name": f"Robin {role.title()}",
                    "password": who[1],
                    "role": role,
                    "outlets": [outlet["id"]],
                },
            )
            assert made.status_code == 201, made.text
            people[role] = who
        loaf = stocked_product(
            admin,
            outlet["id"],
            {"sku": f"RCPT-{suffix}", "name": "Sourdough loaf", "price_minor": 450, "tax_class": "reduced"},
            5,
            "receipts test",
        )
        eventually(lambda: admin.get(f"/api/sales/prices/{loaf['id']}").status_code == 200, "sales to know the loaf")

    # The manager sets the receipt in the back office: a mistake is named by its field.
    office = open_tab(1280, 800).login(*people["manager"])
    office.goto(f"{server.base_url}/#/office/receipts")
    form = office.get_by_test_id("receipt-settings-form")
    form.get_by_label("Shop name").fill(f"Harbour Bakery & Café {suffix}")
    form.get_by_label("Address").fill("\n".join([*ADDRESS, "Co. Cork", "Ireland", "Europe"]))
    form.get_by_label("VAT / tax number").fill("IE9876543W")
    form.get_by_label("Header").fill(HEADER)
    form.get_by_label("Footer").fill("\n".join(FOOTER))
    form.get_by_test_id("receipt-settings-save").click()
    expect_text(form.get_by_test_id("error-address"), re.escape("Address: at most 4 lines (there are 5)."))
    form.get_by_label("Address").fill("\n".join(ADDRESS))
    form.get_by_test_id("receipt-settings-save").click()
    expect_text(form.get_by_test_id("receipt-settings-saved"), "saved")
    expect(form.get_by_test_id("error-address")).to_have_count(0)
    office.screenshot(path=str(screenshots / "office-receipts-desktop.png"), full_page=True)

    # On a phone the form fits the screen, with what was saved.
    phone = open_tab(360, 740).login(*people["manager"])
    phone.goto(f"{server.base_url}/#/office/receipts")
    expect(phone.get_by_test_id("receipt-settings-form").get_by_label("VAT / tax number")).to_have_value("IE9876543W")
    assert overflow(phone) <= 0, "the receipts page is wider than a 360 px phone"
    phone.screenshot(path=str(screenshots / "office-receipts-phone.png"), full_page=True)

    # The cashier sells a loaf; the receipt heads with the shop and ends with the footer.
    till = open_tab(1280, 800).login(*people["cashier"])
    till.get_by_test_id("till").wait_for()
    till.get_by_test_id("till-search").fill(loaf["sku"])
    till.locator(f'[data-testid=search-results] [data-sku="{loaf["sku"]}"]').click()
    expect_text(line(till, loaf["id"]), "Sourdough loaf")
    till.get_by_test_id("pay-button").click()
    till.get_by_test_id("cash-input").fill("10")
    till.get_by_test_id("complete-cash").click()
    receipt = till.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-shop"), re.escape(f"Harbour Bakery & Café {suffix}"))
    expect_text(receipt, re.escape(ADDRESS[1]))
    expect_text(receipt.get_by_test_id("receipt-tax-number"), "VAT/tax no. IE9876543W")
    expect_text(receipt.get_by_test_id("receipt-header"), re.escape(HEADER))
    expect_text(receipt.get_by_test_id("receipt-footer"), re.escape(FOOTER[0]))
    expect_text(receipt.get_by_test_id("receipt-total"), re.escape(euros(450)))
    number = receipt.get_by_test_id("receipt-number").inner_text().strip()
    text = receipt.inner_text()
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text), text  # no internal id

    # E-mail it (the field opens on demand, New sale stays in view): a typo is caught at
    # once; then the sink receives the receipt.
    expect(till.get_by_test_id("new-sale")).to_be_in_viewport(ratio=1)
    till.get_by_test_id("email-receipt").click()
    mailer = till.get_by_test_id("receipt-email")
    expect(mailer.get_by_test_id("receipt-email-input")).to_be_focused()
    mailer.get_by_test_id("receipt-email-input").fill("customer.example.com")
    mailer.get_by_test_id("receipt-email-send").click()
    expect_text(mailer.get_by_test_id("receipt-email-error"), "not an e-mail address")
    to = f"customer-{suffix.lower()}@example.com"
    mailer.get_by_test_id("receipt-email-input").fill(to)
    mailer.get_by_test_id("receipt-email-send").click()
    expect_text(mailer.get_by_test_id("receipt-email-sent"), re.escape(f"Receipt sent to {to}."))
    till.screenshot(path=str(screenshots / "till-receipt-emailed-desktop.png"), full_page=True)

    [mail] = eventually(lambda: received(server.mail_dir, to), f"the sink to receive the receipt for {to}", timeout=20)
    assert mail["Subject"] == f"Your receipt {number} from Harbour Bakery & Café {suffix}"
    body = text_of(mail)
    for expected in (
        f"Harbour Bakery & Café {suffix}",
        *ADDRESS,
        "VAT/tax no. IE9876543W",
        HEADER,
        "Sourdough loaf",
        "4.50",
        *FOOTER,
        number,
    ):
        assert expected in body, (expected, body)
    assert "4.50" in text_of(mail, "html")

    # The same receipt can be mailed again from the sale's page in the back office.
    office.goto(f"{server.base_url}/#/office/sales")
    office.get_by_test_id("sales-table").get_by_role("row").filter(has_text=number).get_by_role("button", name="Open").click()
    dialog = office.get_by_test_id("sale-dialog")
    expect_text(dialog.get_by_test_id("receipt-footer"), re.escape(FOOTER[1]))
    again = f"accounts-{suffix.lower()}@example.com"
    dialog.get_by_test_id("receipt-email-input").fill(again)
    dialog.get_by_test_id("receipt-email-send").click()
    expect_text(dialog.get_by_test_id("receipt-email-sent"), re.escape(again))
    eventually(lambda: received(server.mail_dir, again), f"the sink to receive the receipt for {again}", timeout=20)
    till.get_by_test_id("new-sale").click()
    expect_text(till.get_by_test_id("cart-count"), "empty")
