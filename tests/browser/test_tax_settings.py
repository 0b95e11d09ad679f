"""Tax settings in the back office, in a real browser (issue 16, ADR 0066): a manager
opens Tax, sees each class's rate now, schedules a new standard rate for today and a
reduced rate for next month (a bad rate refused with the reason first); the till's next
sale is taxed at the new rate (the receipt's tax figure) and the upcoming one is listed;
then a tax class is added and the external tax service chosen with the outlet's address.
On a phone the page fits the screen."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, Tab, ean13, eventually, stocked_product
from tests.browser.helpers import accessibility_problems, euros, expect_text, line

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def tshop(server: Server) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        outlet = (
            admin.post("/api/identity/outlets", json={"name": f"Tax Shop {suffix}", "currency": "EUR"}).raise_for_status().json()
        )
        people = {}
        for role in ("cashier", "manager"):
            email, password = f"tax-{role}-{suffix.lower()}@example.com", f"{secrets.token_urlsafe(12)}-Aa1"
            body = {
                "email": email,
                "name": f"Kim {role.title()} {suffix}",
                "password": password,
                "role": role,
                "outlets": [outlet["id"]],
            }
            assert admin.post("/api/identity/users", json=body).status_code == 201
            people[role] = (email, password)
        sku = f"TX-{suffix}"
        product = stocked_product(
            admin, outlet["id"], {"sku": sku, "name": "Table lamp", "barcodes": [ean13("2" + str(secrets.randbelow(10**11)).zfill(11))],
                                  "price_minor": 1210, "tax_class": "standard"}, 5, "tax settings tests")  # fmt: skip
        eventually(lambda: admin.get(f"/api/sales/prices/{product['id']}").status_code == 200, "sales to know the lamp")
    return {"outlet": outlet, "people": people, "product": product, "sku": sku}


def tax_row(page: Any, tax_class: str) -> Any:
    return page.get_by_test_id(f"tax-class-{tax_class}")


def test_a_manager_sets_todays_rate_and_the_tills_next_sale_uses_it(
    open_tab: Callable[..., Tab], server: Server, tshop: dict[str, Any], screenshots: Path
) -> None:
    from playwright.sync_api import expect

    from tests.browser.test_office import office_page

    outlet_id = tshop["outlet"]["id"]
    page = office_page(open_tab(1280, 800), server, tshop["people"]["manager"], "Tax")
    expect_text(page.get_by_test_id("tax-pricing-summary"), r"Shelf prices include tax")
    expect_text(tax_row(page, "standard").get_by_test_id("tax-rate-now"), r"^20 %$")
    expect_text(tax_row(page, "reduced").get_by_test_id("tax-rate-now"), r"^5 %$")

    # A rate the server would refuse is refused in the form, with the reason.
    page.get_by_test_id("tax-schedule-class").select_option("standard")
    page.get_by_test_id("tax-schedule-rate").fill("101")
    page.get_by_test_id("tax-schedule-save").click()
    expect_text(page.get_by_test_id("tax-error-rate"), r"over 100 %")

    # 21 % from today (the date the form offers): the next sale.
    expect(page.get_by_test_id("tax-schedule-from")).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    page.get_by_test_id("tax-schedule-rate").fill("21")
    page.get_by_test_id("tax-schedule-save").click()
    expect_text(page.get_by_test_id("tax-saved"), r"standard is taxed at 21 % from now on")
    expect_text(tax_row(page, "standard").get_by_test_id("tax-rate-now"), r"^21 %$")

    # 7 % reduced from a month ahead: listed as upcoming, not in effect.
    with server.client(server.token(*tshop["people"]["manager"])) as manager:
        today = manager.get(f"/api/sales/outlets/{outlet_id}/tax-rates").raise_for_status().json()["today"]
    later = (date.fromisoformat(today) + timedelta(days=30)).isoformat()
    page.get_by_test_id("tax-schedule-class").select_option("reduced")
    page.get_by_test_id("tax-schedule-rate").fill("7")
    page.get_by_test_id("tax-schedule-from").fill(later)
    page.get_by_test_id("tax-schedule-save").click()
    expect_text(page.get_by_test_id("tax-saved"), r"reduced will be taxed at 7 % from")
    expect_text(tax_row(page, "reduced").get_by_test_id("tax-rate-now"), r"^5 %$")
    expect_text(tax_row(page, "reduced").get_by_test_id("tax-rate-next"), r"7 % from")
    page.screenshot(path=str(screenshots / "office-tax.png"))
    problems = accessibility_problems(page, "office/tax with an upcoming rate")
    assert problems == [], "\n".join(problems)

    # The till's next sale: 12.10 including 21 % holds 2.10 (at 20 % it would be 2.02).
    till = open_tab(1280, 800).login(*tshop["people"]["cashier"])
    till.get_by_test_id("till").wait_for()
    till.get_by_test_id("till-search").fill(tshop["sku"])
    till.locator(f'[data-testid=search-results] [data-sku="{tshop["sku"]}"]').click()
    expect_text(line(till, tshop["product"]["id"]), "Table lamp")
    till.keyboard.press("F4")
    till.get_by_test_id("pay-dialog").wait_for()
    till.keyboard.press("F9")  # exact cash
    till.get_by_test_id("complete-cash").click()
    receipt = till.get_by_test_id("receipt")
    band = receipt.get_by_test_id("receipt-tax-band-2100")
    expect_text(band, r"21%")
    expect_text(band, re.escape(euros(210)))
    expect(receipt.get_by_test_id("receipt-tax-band-2000")).to_have_count(0)
    number = receipt.get_by_test_id("receipt-number").inner_text().strip()
    with server.client(server.token(*tshop["people"]["manager"])) as manager:
        (found,) = manager.get("/api/sales", params={"receipt_number": number}).raise_for_status().json()["items"]
        stored = manager.get(f"/api/sales/{found['id']}").raise_for_status().json()
    assert stored["tax_minor"] == 210
    assert [entry["rate_bp"] for entry in stored["tax"]] == [2100]

    # A new tax class (a bad name refused in the form first), and the tax provider with
    # the outlet's address (the country asked for first): both from the page (ADR 0072).
    page.get_by_test_id("tax-class-name").fill("Food Tax")
    page.get_by_test_id("tax-class-rate").fill("7")
    page.get_by_test_id("tax-class-save").click()
    expect_text(page.get_by_test_id("tax-class-error-name"), r"Lower-case letters")
    page.get_by_test_id("tax-class-name").fill("food")
    page.get_by_test_id("tax-class-save").click()
    expect_text(page.get_by_test_id("tax-class-saved"), r"food added at 7 %")
    expect_text(tax_row(page, "food").get_by_test_id("tax-rate-now"), r"^7 %$")
    page.get_by_test_id("tax-provider-external").check()
    page.get_by_test_id("tax-provider-save").click()
    expect_text(page.get_by_test_id("tax-provider-error"), r"two-letter code")
    page.get_by_test_id("tax-address-country").fill("de")
    page.get_by_test_id("tax-address-city").fill("Berlin")
    page.get_by_test_id("tax-provider-save").click()
    expect_text(page.get_by_test_id("tax-provider-saved"), r"the tax service calculates")
    with server.client(server.token(*tshop["people"]["manager"])) as manager:
        settings = manager.get(f"/api/sales/outlets/{outlet_id}/settings").raise_for_status().json()
        assert settings["tax_rates_bp"]["food"] == 700
        assert settings["tax_provider"] == "external" and settings["tax_address"]["country"] == "DE"
        # Back to the table for the other tests of this outlet.
        manager.put(f"/api/sales/outlets/{outlet_id}/settings", json={**settings, "tax_provider": "builtin"}).raise_for_status()


def test_the_tax_page_fits_a_phone_and_a_cashier_cannot_edit(
    open_tab: Callable[..., Tab], server: Server, tshop: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    from tests.browser.test_office import office_page

    page = office_page(open_tab(390, 844), server, tshop["people"]["manager"], "Tax")
    tax_row(page, "standard").wait_for()
    expect(page.get_by_test_id("tax-schedule-form")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the phone"
    with server.client(server.token(*tshop["people"]["cashier"])) as cashier:
        refused = cashier.post(
            f"/api/sales/outlets/{tshop['outlet']['id']}/tax-rates",
            json={"tax_class": "standard", "rate": "30", "effective_from": date.today().isoformat()},
        )
        assert refused.status_code == 403
        assert cashier.get(f"/api/sales/outlets/{tshop['outlet']['id']}/tax-rates").status_code == 200
