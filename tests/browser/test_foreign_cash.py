"""Foreign cash in the till's pay dialog, in a real browser (issue 16): an outlet that
accepts US dollars (set by its manager), the dialog showing the amount due in dollars at
the rate payments gives (with its source and age), the dollars handed over, the change
in euros, and the receipt with the foreign tender and its rate. Works against the
embedded server (the rates sandbox in the payments process) and the stack (the rates
sandbox process): the expected figures come from the rate the server reports."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pos_platform.conversion import amount_due_in, foreign_cash, foreign_part
from tests.browser.conftest import Server, Tab, ean13, eventually, stocked_product
from tests.browser.helpers import accessibility_problems, euros, expect_text, line

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fshop(server: Server) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        outlet = (
            admin.post("/api/identity/outlets", json={"name": f"Border Shop {suffix}", "currency": "EUR"})
            .raise_for_status()
            .json()
        )
        people = {}
        for role in ("cashier", "manager"):
            email, password = f"fx-{role}-{suffix.lower()}@example.com", f"{secrets.token_urlsafe(12)}-Aa1"
            body = {
                "email": email,
                "name": f"Sam {role.title()} {suffix}",
                "password": password,
                "role": role,
                "outlets": [outlet["id"]],
            }
            assert admin.post("/api/identity/users", json=body).status_code == 201
            people[role] = (email, password)
        sku = f"FX-{suffix}"
        product = stocked_product(
            admin, outlet["id"], {"sku": sku, "name": "Duty-free scarf", "barcodes": [ean13("2" + str(secrets.randbelow(10**11)).zfill(11))],
                                  "price_minor": 2500, "tax_class": "standard"}, 5, "foreign cash tests")  # fmt: skip
        eventually(lambda: admin.get(f"/api/sales/prices/{product['id']}").status_code == 200, "sales to know the scarf")
    with server.client(server.token(*people["manager"])) as manager:
        settings = manager.get(f"/api/sales/outlets/{outlet['id']}/settings").raise_for_status().json()
        manager.put(
            f"/api/sales/outlets/{outlet['id']}/settings", json={**settings, "accepted_currencies": ["USD"]}
        ).raise_for_status()
        rate = manager.get("/api/payments/rates/EUR/USD").raise_for_status().json()
        if not rate["usable"]:
            manager.post("/api/payments/rates/refresh")
            rate = manager.get("/api/payments/rates/EUR/USD").raise_for_status().json()
    assert rate["usable"], rate
    return {"outlet": outlet, "people": people, "product": product, "sku": sku, "rate": rate}


def test_the_pay_dialog_takes_dollars_and_gives_change_in_euros(
    open_tab: Callable[..., Tab], server: Server, fshop: dict[str, Any], screenshots: Path
) -> None:
    rate = Decimal(fshop["rate"]["rate"])
    due_usd = amount_due_in(2500, "EUR", "USD", rate)
    handed = (due_usd // 1000 + 1) * 1000  # the next ten dollars up
    change = foreign_cash(2500, "EUR", "USD", rate, handed).change_minor

    tab = open_tab(1280, 800)
    page = tab.login(*fshop["people"]["cashier"])
    page.get_by_test_id("till").wait_for()
    search = page.get_by_test_id("till-search")
    search.fill(fshop["sku"])
    page.locator(f'[data-testid=search-results] [data-sku="{fshop["sku"]}"]').click()
    expect_text(line(page, fshop["product"]["id"]), "Duty-free scarf")

    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    expect_text(dialog.get_by_test_id("pay-total"), re.escape(euros(2500)))
    dialog.get_by_test_id("mode-foreign").check()
    # One accepted currency: chosen at once, the rate fetched and shown with its source.
    expect_text(dialog.get_by_test_id("foreign-due"), re.escape(f"{due_usd // 100}.{due_usd % 100:02d} USD"))
    expect_text(
        dialog.get_by_test_id("foreign-rate"),
        re.escape(f"1 EUR = {fshop['rate']['rate']} USD") + r".*" + re.escape(fshop["rate"]["source"]),
    )
    dialog.get_by_test_id("foreign-input").fill(f"{handed // 100}")
    expect_text(dialog.get_by_test_id("foreign-change"), re.escape(euros(change)))
    page.screenshot(path=str(screenshots / "till-foreign-cash.png"))
    problems = accessibility_problems(page, "pay dialog, foreign cash")
    assert problems == [], "\n".join(problems)
    dialog.get_by_test_id("complete-foreign").click()

    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-tender-foreign_cash"), re.escape(f"{handed // 100}.00"))
    expect_text(receipt.get_by_test_id("receipt-foreign-rate"), re.escape(f"1 EUR = {fshop['rate']['rate']} USD"))
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(change)))
    number = receipt.get_by_test_id("receipt-number").inner_text().strip()  # the receipt prints no ids
    with server.client(server.token(*fshop["people"]["manager"])) as manager:
        (found,) = manager.get("/api/sales", params={"receipt_number": number}).raise_for_status().json()["items"]
        stored = manager.get(f"/api/sales/{found['id']}").raise_for_status().json()
    (tender,) = stored["tenders"]
    assert (tender["kind"], tender["currency"], tender["foreign_minor"], tender["rate"], stored["change_minor"]) == (
        "foreign_cash", "USD", handed, fshop["rate"]["rate"], change
    )  # fmt: skip


def test_dollars_short_of_the_total_and_the_rest_in_euro_cash_with_change(
    open_tab: Callable[..., Tab], server: Server, fshop: dict[str, Any]
) -> None:
    """Online, the dollars handed over do not cover the 25 EUR: the cashier takes the rest
    in euro cash (a note bigger than the rest), the dialog shows the euro change, and the
    sale is recorded with both tenders (the card for the rest stays offered)."""
    from playwright.sync_api import expect

    rate = Decimal(fshop["rate"]["rate"])
    due_usd = amount_due_in(2500, "EUR", "USD", rate)
    handed_usd = (due_usd - 1) // 1000 * 1000  # the whole tens of dollars below the amount due
    assert handed_usd > 0, f"25 EUR is {due_usd} US cents at {rate}: pick a dearer product"
    part = foreign_part(2500, "EUR", "USD", rate, handed_usd)
    rest = 2500 - part.credit_minor  # the stack takes cash to the cent (no cash rounding)
    handed_eur = (rest // 1000 + 1) * 1000  # the next ten-euro note up

    tab = open_tab(1280, 800)
    page = tab.login(*fshop["people"]["cashier"])
    page.get_by_test_id("till").wait_for()
    page.get_by_test_id("till-search").fill(fshop["sku"])
    page.locator(f'[data-testid=search-results] [data-sku="{fshop["sku"]}"]').click()
    expect_text(line(page, fshop["product"]["id"]), "Duty-free scarf")
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    dialog.get_by_test_id("mode-foreign").check()
    dialog.get_by_test_id("foreign-currency").select_option("USD")
    expect_text(dialog.get_by_test_id("foreign-due"), re.escape(f"{due_usd // 100}.{due_usd % 100:02d} USD"))
    dialog.get_by_test_id("foreign-input").fill(f"{handed_usd // 100}")
    expect_text(dialog.get_by_test_id("foreign-rest"), re.escape(euros(rest)))
    expect(dialog.get_by_test_id("foreign-rest-card")).to_be_enabled()  # the card may still take the rest
    expect(dialog.get_by_test_id("complete-foreign")).to_be_disabled()  # no euro cash typed yet
    dialog.get_by_test_id("foreign-rest-cash").fill(f"{(rest - 1) // 100}.{(rest - 1) % 100:02d}")
    expect_text(dialog.get_by_test_id("foreign-rest-short"), re.escape(euros(1)))
    expect(dialog.get_by_test_id("complete-foreign")).to_be_disabled()
    dialog.get_by_test_id("foreign-rest-cash").fill(f"{handed_eur // 100}")
    expect_text(dialog.get_by_test_id("foreign-rest-change"), re.escape(euros(handed_eur - rest)))
    problems = accessibility_problems(page, "pay dialog, dollars and the rest in euro cash")
    assert problems == [], "\n".join(problems)
    dialog.get_by_test_id("complete-foreign").click()

    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-tender-foreign_cash"), re.escape(f"{handed_usd // 100}.00"))
    expect_text(receipt.get_by_test_id("receipt-tender-cash"), re.escape(euros(handed_eur)))
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(handed_eur - rest)))
    number = receipt.get_by_test_id("receipt-number").inner_text().strip()
    with server.client(server.token(*fshop["people"]["manager"])) as manager:
        (found,) = manager.get("/api/sales", params={"receipt_number": number}).raise_for_status().json()["items"]
        stored = manager.get(f"/api/sales/{found['id']}").raise_for_status().json()
    assert [(t["kind"], t["amount_minor"], t["tendered_minor"], t.get("foreign_minor")) for t in stored["tenders"]] == [
        ("foreign_cash", part.credit_minor, part.credit_minor, handed_usd),
        ("cash", rest, handed_eur, None),
    ]
    assert (stored["status"], stored["total_minor"], stored["change_minor"]) == ("COMPLETED", 2500, handed_eur - rest)


def test_a_currency_without_a_usable_rate_is_refused_in_the_dialog(
    open_tab: Callable[..., Tab], server: Server, fshop: dict[str, Any]
) -> None:
    """AED has no rate in the sandbox's default sheet: the dialog says why and offers no
    way to complete the sale in it."""
    with server.client(server.token(*fshop["people"]["manager"])) as manager:
        settings = manager.get(f"/api/sales/outlets/{fshop['outlet']['id']}/settings").raise_for_status().json()
        manager.put(
            f"/api/sales/outlets/{fshop['outlet']['id']}/settings", json={**settings, "accepted_currencies": ["USD", "AED"]}
        ).raise_for_status()
        aed = manager.get("/api/payments/rates/EUR/AED").json()
    if aed.get("usable"):
        pytest.skip("this server has a usable AED rate")
    tab = open_tab(1280, 800)
    page = tab.login(*fshop["people"]["cashier"])
    page.get_by_test_id("till").wait_for()
    page.get_by_test_id("till-search").fill(fshop["sku"])
    page.locator(f'[data-testid=search-results] [data-sku="{fshop["sku"]}"]').click()
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    dialog.get_by_test_id("mode-foreign").check()
    dialog.get_by_test_id("foreign-currency").select_option("AED")
    expect_text(dialog.get_by_test_id("foreign-rate-refused"), r"AED cash cannot be taken now")
    from playwright.sync_api import expect

    expect(dialog.get_by_test_id("complete-foreign")).to_be_disabled()


def test_a_manager_lists_the_accepted_currencies_in_the_back_office(
    open_tab: Callable[..., Tab], server: Server, fshop: dict[str, Any]
) -> None:
    """Outlets → Edit → "Foreign cash accepted": ISO codes only (a wrong one is refused
    naming it), saved to the outlet's settings the till reads."""
    from playwright.sync_api import expect

    from tests.browser.test_office import office_page

    outlet = fshop["outlet"]
    tab = open_tab(1280, 800)
    page = office_page(tab, server, fshop["people"]["manager"], "Outlets")
    page.get_by_role("button", name=f"Edit {outlet['name']}").click()
    field = page.get_by_test_id("accepted-currencies")
    expect(field).to_be_enabled()
    field.fill("usd, eux")
    page.get_by_role("button", name="Save", exact=True).click()
    expect_text(page.locator("dialog.modal[open]"), r"EUX is not an ISO 4217 currency code")
    field.fill("usd, gbp")
    page.get_by_role("button", name="Save", exact=True).click()
    expect_text(page.locator("body"), re.escape(f"Outlet {outlet['name']} saved."))
    with server.client(server.token(*fshop["people"]["manager"])) as manager:
        saved = manager.get(f"/api/sales/outlets/{outlet['id']}/settings").raise_for_status().json()
    assert saved["accepted_currencies"] == ["USD", "GBP"]
