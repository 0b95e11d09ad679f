"""The daily low-stock e-mail digest's settings (issue 17, ADR 0069) on the Low stock
page: a manager sees who it would go to, a mistyped address is refused with a message,
turning it on says when and to whom, and "Send a test digest now" puts a mail in the SMTP
sink (scripts/mail_sink.py, its own process) listing the product under its point."""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.browser.conftest import Server, Shop, Tab
from tests.browser.helpers import expect_text
from tests.polling import eventually
from tests.smtp_sink import read_mail, text_of

pytestmark = pytest.mark.browser


def received(mail_dir: Path, to: str) -> list[EmailMessage]:
    return [message for message in read_mail(mail_dir) if to in str(message["To"])]


def test_a_manager_turns_the_digest_on_and_sends_a_test_one(open_tab: Callable[..., Tab], server: Server, shop: Shop) -> None:
    from playwright.sync_api import expect

    if server.mail_dir is None:
        pytest.skip("the server's mail is not where this test can read it (POS_BROWSER_BASE_URL names an outside server)")
    manager_email = shop.manager[0]
    with server.client(server.token(*shop.manager)) as http:
        put = http.put(
            "/api/inventory",
            json={"outlet_id": shop.outlet_id, "product_id": shop.scarce.id, "reorder_point": shop.scarce.stock + 3},
        )
        assert put.status_code == 200 and put.json()["low"] is True, put.text

    tab = open_tab(1280, 800)
    page = tab.login(*shop.manager)
    tab.open("/#/office/low-stock")
    form = page.get_by_test_id("digest-settings")
    expect_text(form, re.escape(f"Leave empty to send it to this outlet's managers: {manager_email}"))
    expect(form.get_by_label("Send a daily digest")).not_to_be_checked()

    # A mistyped address: refused, saying what is wrong; nothing is turned on.
    form.get_by_label("Send a daily digest").check()
    form.get_by_label(re.compile("^Send at")).fill("06:30")
    form.get_by_label("Recipients, one address a line").fill("buyer@shop")
    form.get_by_role("button", name="Save").click()
    expect_text(form, "'buyer@shop' is not an e-mail address: type it as name@example.com")

    # Empty recipients: the managers.
    form.get_by_label("Recipients, one address a line").fill("")
    form.get_by_role("button", name="Save").click()
    expect_text(form, re.escape(f"Saved: the digest goes daily at 06:30 (UTC) to {manager_email}."))
    expect_text(page.get_by_test_id("digest-next"), r"^Next digest: ")

    form.get_by_role("button", name="Send a test digest now").click()
    expect_text(form, rf"Test digest sent to {re.escape(manager_email)}: \d+ products? to reorder\.")
    mail_dir = server.mail_dir
    (message,) = eventually(lambda: received(mail_dir, manager_email) or None, "the test digest in the mail sink")
    assert str(message["Subject"]).strip().startswith(f"[test] Low stock at {shop.outlet_name}:")
    text = text_of(message)
    row = next(r for r in text.splitlines() if r.startswith(shop.scarce.name))
    on_hand, point, order = (int(x) for x in row.split()[-3:])
    assert point == shop.scarce.stock + 3 and on_hand <= shop.scarce.stock and order >= point - on_hand + 1
    assert "/#/office/low-stock" in text

    # Saved for real: a fresh page shows it on, at 06:30.
    page.reload()
    form = page.get_by_test_id("digest-settings")
    expect(form.get_by_label("Send a daily digest")).to_be_checked()
    expect(form.get_by_label(re.compile("^Send at"))).to_have_value("06:30")
    assert not tab.problems, tab.problems
