"""Issue 15 on the local stack, through nginx: sales a till made offline yesterday are
synced today, twice over and from two tabs at once; each is recorded once, the stock
goes below zero where the shelf had less (flagged oversold, listed for the manager),
and the reports count the sales and their cash on the day they were sold."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, eventually, make_shop  # noqa: F401 (fixture)
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


def offline_sale(shop: Shop, register: dict[str, Any], number: int, sold_at: datetime, key: str, price: int) -> dict[str, Any]:
    product = shop.products[key]
    tax = (price * 2000 * 2 + 12_000) // (2 * 12_000)  # 20 % inside the price, half up
    return {
        "id": str(uuid.uuid4()),
        "outlet_id": shop.outlet["id"],
        "register_id": register["id"],
        "receipt_number": f"R{register['number']}-OFF{number:06d}",
        "sold_at": sold_at.isoformat().replace("+00:00", "Z"),
        "currency": "EUR",
        "lines": [
            {"product_id": product["id"], "sku": product["sku"], "name": product["name"], "qty": 1, "unit_price_minor": price,
             "tax_rate_bp": 2000, "tax_minor": tax, "total_minor": price}
        ],
        "total_minor": price,
        "tax_minor": tax,
        "tenders": [{"kind": "cash", "amount_minor": price, "tendered_minor": 2000}],
        "change_minor": 2000 - price,
    }


def test_offline_sales_sync_once_and_count_on_the_day_they_were_sold(checkout_stack: Stack) -> None:  # noqa: F811
    shop = make_shop(checkout_stack)
    shop.add_product("beans", 1250, 2)  # two on the shelf; three leave it offline
    register = shop.add_register("offline")
    # The till's register existed long before it went offline: sales knows it.
    probe = {"outlet_id": shop.outlet["id"], "register_id": register["id"], "lines": [{"product_id": shop.products["beans"]["id"], "qty": 1}]}
    eventually(lambda: shop.cashier.post("/api/sales/quote", json=probe).status_code == 200, "sales to know the register", timeout=60)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    queue = [offline_sale(shop, register, n, yesterday + timedelta(minutes=n), "beans", 1250) for n in (1, 2, 3)]
    # The price changed while the till was offline: the customer paid the old one.
    queue.append(offline_sale(shop, register, 4, yesterday + timedelta(minutes=4), "beans", 1100))

    def sync_all() -> list[tuple[int, str]]:
        answers = []
        for body in queue:  # in order, as the till's queue
            r = shop.cashier.post("/api/sales/offline", json=body)
            answers.append((r.status_code, r.text))
        return answers

    with ThreadPoolExecutor(max_workers=2) as tabs:  # two tabs syncing the same queue
        first, second = tabs.map(lambda _: sync_all(), range(2))
    assert [status for status, _ in first] == [201] * 4, first
    assert first == second
    assert sync_all() == first  # a third time, the answers lost: the same

    for body in queue:
        rows = eventually(lambda body=body: shop.ledger(body["id"]), f"the deduction of {body['receipt_number']}")
        assert [(r["kind"], r["delta"]) for r in rows] == [("sale", -1)]
    level = shop.level("beans")
    assert level["on_hand"] == -2

    with checkout_stack.client(checkout_stack.login()) as admin:
        def listed() -> dict[tuple[str, str], str]:
            found = admin.get("/api/sales/sync-exceptions", params={"outlet_id": shop.outlet["id"]}).json()
            return {(e["receipt_number"], e["kind"]): e["detail"] for e in found}

        exceptions = eventually(lambda: (found := listed()) and len(found) >= 3 and found, "the sync exceptions")
        assert (f"R{register['number']}-OFF000004", "price_changed") in exceptions
        assert {kind for (_, kind) in exceptions} == {"price_changed", "stock_short"}
        day = yesterday.date().isoformat()
        scope = {"outlet_id": shop.outlet["id"], "date_from": day, "date_to": day}

        def counted() -> dict[str, Any] | None:
            totals = admin.get("/api/reports/sales/daily", params=scope).json()["totals"]
            return totals if totals.get("sales_count") == 4 else None

        totals = eventually(counted, "the reports to count the offline sales on the day they were sold")
        assert totals["gross_minor"] == 3 * 1250 + 1100
        tenders = admin.get("/api/reports/sales/tenders", params=scope).json()["rows"]
        assert [(t["kind"], t["captured_minor"]) for t in tenders] == [("cash", 3 * 1250 + 1100)]
        sales = admin.get("/api/sales", params={"outlet_id": shop.outlet["id"], "limit": 50}).json()["items"]
        assert sorted(s["receipt_number"] for s in sales) == sorted(b["receipt_number"] for b in queue)
