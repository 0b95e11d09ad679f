"""The dashboard of a chain in two currencies, in a real browser, as a manager reads it
(issue 16, ADR 0072): the "By currency" panel with each currency's own figures and the
chain total converted into the chain currency, its rate, source and date named and the
total labelled as converted; and the "Foreign cash taken" panel with the dollars handed
over at the euro outlet and what they were worth.

The fixture makes two outlets of its own, one in euros (which takes US dollars) and one
in Swiss francs, a manager of those two only (so "All my outlets" holds nothing but this
test's sales), and sells through the API: a cash sale and a dollar sale at the euro
outlet, and a sale in francs at the franc outlet: one a till of that outlet made offline
and synced, in francs (POST /api/sales/offline; the products have no franc shelf price,
which an online sale there would need, ADR 0075: tests/e2e/test_outlet_currency.py
sells online in francs). Every figure asserted is worked out from those sales and the
rates payments gives; outlet zones are left alone (ADR 0072: a zone change re-days past
sales)."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from pos_platform.conversion import amount_due_in, exact_conversion, round_fraction
from tests.browser.conftest import Server, Tab, eventually, stocked_product
from tests.browser.helpers import dashboard, euros, expect_text, overflow

pytestmark = pytest.mark.browser

CHAIN = "EUR"  # POS_CHAIN_CURRENCY's default: what the stack and the embedded server run with
FOREIGN_OUTLET = "CHF"  # the second outlet's own currency
TENDER = "USD"  # foreign cash taken at the euro outlet

# key -> (name, price (tax included), the outlet (by its currency) it is stocked at, received)
PRODUCTS = {
    "beans": ("Harbour coffee beans", 1250, CHAIN, 10),
    "tote": ("Harbour tote bag", 1800, CHAIN, 5),
    "chocolate": ("Lake chocolate", 900, FOREIGN_OUTLET, 10),
}
STANDARD_BP = 2000  # the default rate of the "standard" tax class


@dataclass(frozen=True)
class Chain:
    manager: tuple[str, str]
    outlets: dict[str, str]  # currency -> outlet id
    gross: dict[str, int]  # currency -> gross sold, in it
    sales: dict[str, int]  # currency -> number of sales
    dollars: dict[str, Any]  # the dollar tender as sales recorded it
    rate: dict[str, Any]  # payments' EUR -> CHF rate the chain total uses


def money_pattern(minor: int, currency: str) -> str:
    """The amount as the app shows a currency that is not the euro: the digits with the
    code or a symbol beside them (Intl's choice for the locale)."""
    digits = re.escape(f"{minor // 100:,}.{minor % 100:02d}")
    return rf"(US\$|{currency}\s?){digits}|{digits}\s?{currency}"


def _rate(http: httpx.Client, quote: str) -> dict[str, Any]:
    """Payments' EUR -> quote rate, fetched afresh from the feed if it is not usable."""
    rate = http.get(f"/api/payments/rates/{CHAIN}/{quote}").raise_for_status().json()
    if not rate["usable"]:
        http.post("/api/payments/rates/refresh")
        rate = http.get(f"/api/payments/rates/{CHAIN}/{quote}").raise_for_status().json()
    assert rate["usable"], rate
    return rate


@pytest.fixture(scope="module")
def chain(server: Server) -> Chain:
    suffix = uuid.uuid4().hex[:6].upper()
    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        outlets = {}
        for currency, label in ((CHAIN, "Harbour Shop"), (FOREIGN_OUTLET, "Lake Kiosk")):
            made = admin.post("/api/identity/outlets", json={"name": f"{label} {suffix}", "currency": currency})
            assert made.status_code == 201, made.text
            outlets[currency] = made.json()["id"]
        email, password = f"fxdash-manager-{suffix.lower()}@example.com", f"{secrets.token_urlsafe(12)}-Aa1"
        made = admin.post(
            "/api/identity/users",
            json={"email": email, "name": f"Robin Manager {suffix}", "password": password, "role": "manager",
                  "outlets": list(outlets.values())},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        ids = {}
        for key, (name, price, currency, stock) in PRODUCTS.items():
            product = stocked_product(
                admin,
                outlets[currency],
                {"sku": f"FXD-{suffix}-{key.upper()}", "name": f"{name} {suffix}", "price_minor": price,
                 "tax_class": "standard"},
                stock,
                "currency dashboard tests",
            )  # fmt: skip
            ids[key] = product
        register = admin.post(
            "/api/identity/registers", json={"outlet_id": outlets[FOREIGN_OUTLET], "name": f"Kiosk till {suffix}"}
        )
        assert register.status_code == 201, register.text
        register = register.json()
        for key, product in ids.items():
            eventually(lambda p=product["id"]: admin.get(f"/api/sales/prices/{p}").status_code == 200, f"sales to know {key}")

    with server.client(server.token(email, password)) as manager:
        settings = manager.get(f"/api/sales/outlets/{outlets[CHAIN]}/settings").raise_for_status().json()
        manager.put(
            f"/api/sales/outlets/{outlets[CHAIN]}/settings", json={**settings, "accepted_currencies": [TENDER]}
        ).raise_for_status()
        # Sales takes the outlet's currency from identity (ADR 0075): saying it again is
        # accepted (another would be refused).
        url = f"/api/sales/outlets/{outlets[FOREIGN_OUTLET]}/settings"
        manager.put(url, json={**manager.get(url).raise_for_status().json(), "currency": FOREIGN_OUTLET}).raise_for_status()
        dollar_rate = Decimal(_rate(manager, TENDER)["rate"])
        tote = PRODUCTS["tote"][1]
        handed = (amount_due_in(tote, CHAIN, TENDER, dollar_rate) // 1000 + 1) * 1000  # the next ten dollars up

        def sell(currency: str, lines: list[tuple[str, int]], tenders: list[dict[str, Any]]) -> dict[str, Any]:
            body = {"id": str(uuid.uuid4()), "outlet_id": outlets[currency],
                    "lines": [{"product_id": ids[k]["id"], "qty": q} for k, q in lines], "tenders": tenders}  # fmt: skip
            sold = manager.post("/api/sales", json=body)
            assert sold.status_code == 201, sold.text
            assert sold.json()["total_minor"] == sum(PRODUCTS[k][1] * q for k, q in lines)
            return sold.json()

        def sell_offline(key: str, qty: int) -> dict[str, Any]:
            """What the franc outlet's till sold offline five minutes ago, in francs, cash."""
            product, total = ids[key], PRODUCTS[key][1] * qty
            tax = (total * STANDARD_BP * 2 + (10_000 + STANDARD_BP)) // (2 * (10_000 + STANDARD_BP))  # inside, half up
            tendered = (total // 1000 + 1) * 1000
            body = {
                "id": str(uuid.uuid4()), "outlet_id": outlets[FOREIGN_OUTLET], "register_id": register["id"],
                "receipt_number": f"R{register['number']}-OFF{secrets.randbelow(10**6):06d}",
                "sold_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
                "currency": FOREIGN_OUTLET,
                "lines": [{"product_id": product["id"], "sku": product["sku"], "name": product["name"], "qty": qty,
                           "unit_price_minor": PRODUCTS[key][1], "tax_rate_bp": STANDARD_BP, "tax_minor": tax,
                           "total_minor": total}],
                "total_minor": total, "tax_minor": tax,
                "tenders": [{"kind": "cash", "amount_minor": total, "tendered_minor": tendered}],
                "change_minor": tendered - total,
            }  # fmt: skip
            # Sales learns of the register from identity: a moment after it was made.
            synced = eventually(
                lambda: (r := manager.post("/api/sales/offline", json=body)).status_code == 201 and r,
                "the franc outlet's offline sale to sync",
                timeout=60,
            )
            assert (synced.json()["currency"], synced.json()["total_minor"]) == (FOREIGN_OUTLET, total), synced.text
            return synced.json()

        sold = [
            sell(CHAIN, [("beans", 2)], [{"kind": "cash", "amount_minor": 2 * PRODUCTS["beans"][1]}]),
            sell(CHAIN, [("tote", 1)], [{"kind": "foreign_cash", "currency": TENDER, "amount_minor": handed}]),
            sell_offline("chocolate", 3),
        ]
        (dollars,) = [t for s in sold for t in s["tenders"] if t["kind"] == "foreign_cash"]
        assert (dollars["currency"], dollars["foreign_minor"]) == (TENDER, handed)
        gross = {c: sum(s["total_minor"] for s in sold if s["currency"] == c) for c in outlets}
        count = {c: sum(1 for s in sold if s["currency"] == c) for c in outlets}
        rate = _rate(manager, FOREIGN_OUTLET)
        result = Chain((email, password), outlets, gross, count, dollars, rate)
        _wait_for_reports(manager, result)
    return result


def _wait_for_reports(http: httpx.Client, chain: Chain) -> None:
    """The reports follow the events within seconds, and read payments' rates through a
    cache of a minute: wait until the daily report holds every sale and its chain total
    uses the rate payments gives now, and the dollars are among the tenders."""

    def counted() -> bool:
        report = http.get("/api/reports/sales/daily").raise_for_status().json()
        totals = {t["currency"]: (t["gross_minor"], t["sales_count"]) for t in report["totals_by_currency"]}
        if totals != {c: (chain.gross[c], chain.sales[c]) for c in chain.outlets}:
            return False
        lines = {line["currency"]: line for line in (report.get("chain_total") or {}).get("lines", [])}
        line = lines.get(FOREIGN_OUTLET)
        return (
            line is not None
            and Decimal(line["rate"]) == Decimal(chain.rate["rate"])
            and (line["rate_source"], line["rate_date"]) == (chain.rate["source"], chain.rate["reference_date"])
        )

    def tendered() -> bool:
        rows = http.get("/api/reports/sales/tender-currencies").raise_for_status().json()["rows"]
        return [(r["tender_currency"], r["count"]) for r in rows if r["kind"] == "foreign_cash"] == [(TENDER, 1)]

    eventually(counted, "the daily report to hold the sales, converted at payments' rate of now", timeout=120)
    eventually(tendered, "the tenders per currency to hold the dollars")


@pytest.mark.parametrize(("width", "height", "name"), [(1280, 800, "desktop"), (375, 812, "phone")])
def test_a_manager_reads_each_currency_the_converted_chain_total_and_the_foreign_cash(
    open_tab: Callable[..., Tab], chain: Chain, screenshots: Path, width: int, height: int, name: str
) -> None:
    from playwright.sync_api import expect

    page = dashboard(open_tab(width, height), chain.manager, "currencies-panel")
    panel = page.get_by_test_id("currencies-panel")
    expect(panel.get_by_role("heading", name="By currency")).to_be_visible()

    # What the franc sales are worth in euros: the francs at payments' rate (francs per
    # euro), to the nearest cent.
    per_euro = Decimal(chain.rate["rate"])
    francs = chain.gross[FOREIGN_OUTLET]
    in_euros = round_fraction(exact_conversion(francs, FOREIGN_OUTLET, CHAIN, 1 / Fraction(per_euro)), "half_even")
    assert 0 < in_euros != francs  # a real conversion, not the same number
    total = chain.gross[CHAIN] + in_euros

    table = panel.get_by_role("table", name="Sales per currency")
    expect(table.get_by_role("columnheader", name=f"Gross in {CHAIN} (converted)")).to_be_visible()
    euro_row = table.locator(f'tbody tr[data-currency="{CHAIN}"]')
    expect(euro_row.locator('[data-label="Sales"]')).to_have_text(str(chain.sales[CHAIN]))
    expect(euro_row.locator('[data-label="Gross"]')).to_have_text(euros(chain.gross[CHAIN]))
    # The euros are the chain currency: converted at 1, no rate named.
    expect(euro_row.locator('[data-label="Converted"]')).to_have_text(euros(chain.gross[CHAIN]))

    franc_row = table.locator(f'tbody tr[data-currency="{FOREIGN_OUTLET}"]')
    expect(franc_row.locator('[data-label="Sales"]')).to_have_text(str(chain.sales[FOREIGN_OUTLET]))
    expect_text(franc_row.locator('[data-label="Gross"]'), money_pattern(francs, FOREIGN_OUTLET))
    converted = franc_row.locator('[data-label="Converted"]')
    expect_text(converted, re.escape(euros(in_euros)))
    shown_rate = re.search(rf"at ([0-9.]+) per {CHAIN}", converted.inner_text())
    assert shown_rate and Decimal(shown_rate.group(1)) == per_euro, converted.inner_text()

    chain_row = table.get_by_test_id("chain-total")
    expect_text(chain_row, "Chain total")
    expect(chain_row.locator("td").first).to_have_text(str(sum(chain.sales.values())))
    expect(chain_row.locator("strong")).to_have_text(euros(total))

    # Labelled as converted, naming the rate's source and date.
    label = panel.get_by_test_id("chain-label")
    expect_text(
        label,
        re.escape(f"Chain total in {CHAIN}, converted at {chain.rate['source']} rate of {chain.rate['reference_date']}")
        + r".*an indication",
    )

    # Foreign cash taken: the dollars handed over at the euro outlet, and their worth in
    # euros (what they paid plus the change given for them) at the average rate.
    foreign = page.get_by_test_id("tender-currencies-panel")
    expect(foreign.get_by_role("heading", name="Foreign cash taken")).to_be_visible()
    rows = foreign.get_by_role("table", name="Foreign cash taken per currency").locator("tbody tr")
    expect(rows).to_have_count(1)
    dollars = chain.dollars
    worth = dollars["amount_minor"] + dollars["change_minor"]
    assert dollars["amount_minor"] == PRODUCTS["tote"][1]
    average = (Decimal(dollars["foreign_minor"]) / Decimal(worth)).quantize(Decimal("0.000001"))
    row = rows.first
    expect(row).to_have_attribute("data-currency", TENDER)
    cells = row.locator("td")
    expect_text(row.locator("th"), TENDER)
    expect(cells.nth(0)).to_have_text("1")
    expect_text(cells.nth(1), money_pattern(dollars["foreign_minor"], TENDER))
    expect_text(cells.nth(2), rf"{re.escape(euros(worth))}\s*at {re.escape(str(average))}")

    # By tender (in the dashboard's first currency, euros): the dollars under their kind's
    # name, at what they paid.
    tenders = page.get_by_role("list", name="Money taken by tender")
    expect_text(tenders, rf"Foreign cash\s*{re.escape(euros(dollars['amount_minor']))}\s*· 1\u00d7")
    expect(tenders).not_to_contain_text("foreign_cash")

    wider = overflow(page)
    assert wider <= 0, f"the dashboard is {wider}px wider than the {width}px screen"
    panel.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"dashboard-currencies-{name}.png"), full_page=True)
