"""Issue 16 where the offline till has landed, in Chromium: foreign cash works offline
at the rate the till kept. The till is online once (it keeps the outlet's dollar rate
with its source and date in IndexedDB), the link drops and the page is reloaded; the
cashier takes dollars for one sale (change in euros) and a few dollars plus euros for
another, the pay dialog showing the kept rate, its source and its age. Back online both
sync and are recorded with the foreign tender at the till's rate. A kept rate older
than the server's stale limit is refused offline, saying why. The expected figures come
from the rate the server reports and pos_platform.conversion (the server's arithmetic)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pos_platform.conversion import amount_due_in, foreign_cash, foreign_part
from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import euros, expect_text
from tests.browser.test_offline_till import add_by_sku
from tests.browser.test_refund import TillShop, build_till_shop

pytestmark = pytest.mark.browser

# The till's kept rates (web/src/lib/rateCache.ts) in its offline store (offlineDb.ts).
KEPT_RATES = """async () => {
  if (!(await indexedDB.databases()).some((d) => d.name === "pos-till-offline")) return null;
  const db = await new Promise((ok, fail) => { const r = indexedDB.open("pos-till-offline"); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  try {
    const row = await new Promise((ok, fail) => { const g = db.transaction("meta").objectStore("meta").get("fxRates.EUR"); g.onsuccess = () => ok(g.result); g.onerror = () => fail(g.error); });
    return row ? row.value : null;
  } finally { db.close(); }
}"""

# Age the kept dollar rate (as if the till had been offline since that day).
AGE_KEPT_RATE = """async (day) => {
  const db = await new Promise((ok, fail) => { const r = indexedDB.open("pos-till-offline"); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  try {
    await new Promise((ok, fail) => {
      const tx = db.transaction("meta", "readwrite");
      const store = tx.objectStore("meta");
      const g = store.get("fxRates.EUR");
      g.onsuccess = () => { const row = g.result; row.value.rates.USD.reference_date = day; store.put(row); };
      tx.oncomplete = () => ok(null); tx.onerror = () => fail(tx.error);
    });
  } finally { db.close(); }
}"""


def age_text(days: int) -> str:
    """As the till words a rate's age (foreignCash.ts ageText)."""
    return "today's" if days == 0 else "1 day old" if days == 1 else f"{days} days old"


def source_text(source: str, day: str) -> str:
    """As the till names a rate's source (rateCache.ts rateSource)."""
    if source == "manual":
        return f"manual rate set by a manager {day}"
    return f"{'ECB' if source == 'ecb' else source} rate of {day}"


@pytest.fixture(scope="module")
def fx_offline_shop(server: Server) -> dict[str, Any]:
    shop = build_till_shop(server, registers=("Border",))
    with server.client(server.token(*shop.manager)) as manager:
        url = f"/api/sales/outlets/{shop.outlet_id}/settings"
        settings = manager.get(url).raise_for_status().json()
        manager.put(url, json={**settings, "accepted_currencies": ["USD"]}).raise_for_status()
        rate = manager.get("/api/payments/rates/EUR/USD").raise_for_status().json()
        if not rate["usable"]:
            manager.post("/api/payments/rates/refresh")
            rate = manager.get("/api/payments/rates/EUR/USD").raise_for_status().json()
        limit = manager.get(url).raise_for_status().json()["rates_stale_after_days"]
    assert rate["usable"], rate
    return {"shop": shop, "rate": rate, "stale_after_days": limit}


def test_dollars_are_taken_offline_at_the_kept_rate_and_synced_with_it(
    open_tab: Callable[..., Tab], server: Server, fx_offline_shop: dict[str, Any]
) -> None:
    shop: TillShop = fx_offline_shop["shop"]
    rate_view, limit = fx_offline_shop["rate"], fx_offline_shop["stale_after_days"]
    rate = Decimal(rate_view["rate"])
    # Sale 1: two coffees and a tea (9.30 EUR) paid in dollars, the next ten dollars up.
    total1 = 2 * shop.coffee.price_minor + shop.tea.price_minor
    due1 = amount_due_in(total1, "EUR", "USD", rate)
    handed1 = (due1 // 1000 + 1) * 1000
    change1 = foreign_cash(total1, "EUR", "USD", rate, handed1).change_minor
    # Sale 2: a tea (2.50 EUR) with one dollar; the rest in euros, a 5 euro note.
    part = foreign_part(shop.tea.price_minor, "EUR", "USD", rate, 100)
    rest2 = shop.tea.price_minor - part.credit_minor

    tab = open_tab(1280, 800)
    page = tab.login(*shop.cashier)
    expect_text(page.get_by_test_id("current-register"), r"^Border$")
    page.get_by_test_id("till").wait_for()
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=20000)
    # Online, the till keeps the outlet's accepted currencies' rates (no pay dialog needed).
    kept = eventually(lambda: (page.evaluate(KEPT_RATES) or {}).get("rates", {}).get("USD"), "the till to keep the USD rate")
    assert (kept["rate"], kept["source"], kept["reference_date"]) == (
        rate_view["rate"],
        rate_view["source"],
        rate_view["reference_date"],
    )
    page.wait_for_timeout(3000)  # the catalogue kept on the till fills in the background

    page.context.set_offline(True)
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    page.reload()  # the kept rate is in IndexedDB: it survives a reload while offline
    expect_text(page.get_by_test_id("offline-status"), r"Offline")
    add_by_sku(page, shop.coffee.sku, shop.coffee.id, shop.coffee.name)
    add_by_sku(page, shop.coffee.sku, shop.coffee.id, shop.coffee.name)
    add_by_sku(page, shop.tea.sku, shop.tea.id, shop.tea.name)
    page.keyboard.press("F4")
    dialog = page.get_by_test_id("pay-dialog")
    expect_text(dialog.get_by_test_id("pay-total"), re.escape(euros(total1)))
    expect_text(dialog.get_by_test_id("pay-offline-note"), r"foreign cash at the rate kept on this till")
    dialog.get_by_test_id("mode-foreign").check()
    expect_text(dialog.get_by_test_id("foreign-due"), re.escape(f"{due1 // 100}.{due1 % 100:02d} USD"))
    age = (datetime.now(UTC).date() - date.fromisoformat(rate_view["reference_date"])).days
    expect_text(
        dialog.get_by_test_id("foreign-rate"),
        re.escape(
            f"1 EUR = {rate_view['rate']} USD · {source_text(rate_view['source'], rate_view['reference_date'])} ({age_text(age)})"
        )
        + r".*kept on this till",
    )
    dialog.get_by_test_id("foreign-input").fill(f"{handed1 // 100}")
    expect_text(dialog.get_by_test_id("foreign-change"), re.escape(euros(change1)))
    dialog.get_by_test_id("complete-foreign").click()
    receipt = page.get_by_test_id("receipt")
    expect_text(receipt.get_by_test_id("receipt-number"), r"^R\d+-OFF000001$")
    first = receipt.get_by_test_id("receipt-number").inner_text().strip()
    expect_text(receipt.get_by_test_id("receipt-offline"), r"TAKEN OFFLINE")
    expect_text(receipt.get_by_test_id("receipt-tender-foreign_cash"), re.escape(f"{handed1 // 100}.00"))
    expect_text(receipt.get_by_test_id("receipt-foreign-rate"), re.escape(f"1 EUR = {rate_view['rate']} USD"))
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(change1)))
    page.get_by_test_id("new-sale").click()

    add_by_sku(page, shop.tea.sku, shop.tea.id, shop.tea.name)
    page.keyboard.press("F4")
    dialog.get_by_test_id("mode-foreign").check()
    dialog.get_by_test_id("foreign-input").fill("1")
    expect_text(dialog.get_by_test_id("foreign-rest"), re.escape(euros(rest2)))
    dialog.get_by_test_id("foreign-rest-cash").fill("5")
    expect_text(dialog.get_by_test_id("foreign-rest-change"), re.escape(euros(500 - rest2)))
    dialog.get_by_test_id("complete-foreign").click()
    expect_text(receipt.get_by_test_id("receipt-number"), r"^R\d+-OFF000002$")
    second = receipt.get_by_test_id("receipt-number").inner_text().strip()
    expect_text(receipt.get_by_test_id("receipt-change"), re.escape(euros(500 - rest2)))
    page.get_by_test_id("new-sale").click()
    expect_text(page.get_by_test_id("unsynced-count"), r"2 sales not sent yet")

    # A kept rate older than the server's limit: refused offline, saying why.
    old_day = (datetime.now(UTC).date() - timedelta(days=limit + 1)).isoformat()
    page.evaluate(AGE_KEPT_RATE, old_day)
    add_by_sku(page, shop.coffee.sku, shop.coffee.id, shop.coffee.name)
    page.keyboard.press("F4")
    dialog.get_by_test_id("mode-foreign").check()
    expect_text(
        dialog.get_by_test_id("foreign-rate-refused"),
        re.escape(f"USD cash cannot be taken now: the USD rate kept on this till ({source_text(rate_view['source'], old_day)}) is {limit + 1} days old")
        + r".*" + re.escape(f"up to {limit} days old"),
    )  # fmt: skip
    from playwright.sync_api import expect

    expect(dialog.get_by_test_id("complete-foreign")).to_be_disabled()
    page.keyboard.press("Escape")

    page.context.set_offline(False)
    manager = server.token(*shop.manager)

    def synced() -> dict[str, str] | None:
        with server.client(manager) as http:
            items = http.get("/api/sales", params={"outlet_id": shop.outlet_id, "limit": 50}).raise_for_status().json()["items"]
        found = {s["receipt_number"]: s["id"] for s in items}
        return found if {first, second} <= set(found) else None

    ids = eventually(synced, "the two sales taken offline to sync", timeout=90)
    eventually(lambda: not page.get_by_test_id("unsynced-count").is_visible(), "the till to say nothing is waiting")
    with server.client(manager) as http:
        one = http.get(f"/api/sales/{ids[first]}").raise_for_status().json()
        two = http.get(f"/api/sales/{ids[second]}").raise_for_status().json()
        exceptions = http.get("/api/sales/sync-exceptions", params={"outlet_id": shop.outlet_id}).raise_for_status().json()
    (tender,) = one["tenders"]
    assert (one["status"], one["receipt_number"], one["total_minor"], one["change_minor"]) == (
        "COMPLETED",
        first,
        total1,
        change1,
    )
    assert (tender["kind"], tender["currency"], tender["foreign_minor"], tender["rate"], tender["rate_source"], tender["rate_as_of"][:10]) == (
        "foreign_cash", "USD", handed1, rate_view["rate"], rate_view["source"], rate_view["reference_date"]
    )  # fmt: skip
    assert [(t["kind"], t["amount_minor"], t.get("foreign_minor")) for t in two["tenders"]] == [
        ("foreign_cash", part.credit_minor, 100),
        ("cash", rest2, None),
    ]
    assert two["change_minor"] == 500 - rest2
    # The rate was fresh and the currency accepted: nothing for a manager to look at.
    assert [e["kind"] for e in exceptions if e["sale_id"] in {ids[first], ids[second]}] == []
