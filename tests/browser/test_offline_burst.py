"""Issue 15, the sync burst at CI size, in Chromium through the stack: three tills, each
with its own register and cashier, come back online together with 20 sales each taken
offline, while an online till keeps selling at the same outlet. Each till's own queue
code sends its sales. What a manager then checks: every offline sale recorded once,
under the receipt number the customer holds; the stock moved by exactly what was sold,
online and offline; the day's report and the cash to the cent; no sync exception.

The queues are filled the way scripts/bench_offline_burst.py fills them (rows written
into the till's IndexedDB while it is offline, priced by the sales pricing domain, then
the page reloaded offline). The first till takes its first sale itself, on its own
screens, so the test also holds the written rows to what the till writes: the same
shape, and the receipt sequence carried on from the till's own number. No timings are
asserted: the figures are docs/performance.md's."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Server, Tab, eventually
from tests.browser.helpers import expect_text, line
from tests.unit.scriptload import load_script

pytestmark = pytest.mark.browser

burst = load_script("bench_offline_burst")

TILLS = 3
SALES_PER_TILL = 20


def add_by_sku(page: Any, sku: str, product_id: str) -> None:
    page.get_by_test_id("till-search").fill(sku)
    page.locator(f'[data-testid=search-results] [data-sku="{sku}"]').click()
    line(page, product_id).wait_for()


def as_sold(receipt: dict[str, Any]) -> dict[str, Any]:
    """An online sale's receipt in the shape the checks read (lines, totals, cash, day)."""
    return {
        "receipt_number": receipt["receipt_number"],
        "id": receipt["sale_id"],
        "sold_at": receipt["completed_at"],
        "lines": [
            {"product_id": x["product_id"], "qty": x["qty"], "discount_minor": x["discount_minor"]} for x in receipt["lines"]
        ],
        "total_minor": receipt["total_minor"],
        "tax_minor": receipt["tax_minor"],
        "tenders": [{"kind": t["kind"], "amount_minor": t["amount_minor"]} for t in receipt["tenders"]],
    }


class OnlineTill(threading.Thread):
    """A till that stays online and sells cash sales through POST /api/sales until told to
    stop (and at least `at_least` of them), recording every answer."""

    def __init__(self, server: Server, token: str, shop: Any, at_least: int = 5, at_most: int = 200) -> None:
        super().__init__(daemon=True)
        self.server, self.token, self.shop = server, token, shop
        self.at_least, self.at_most = at_least, at_most
        self.stop = threading.Event()
        self.receipts: list[dict[str, Any]] = []
        self.refused: list[str] = []

    def run(self) -> None:
        rng = random.Random(7)
        with self.server.client(self.token) as http:
            while len(self.receipts) + len(self.refused) < self.at_most and (
                not self.stop.is_set() or len(self.receipts) + len(self.refused) < self.at_least
            ):
                items = rng.sample(self.shop.items, 2)
                body = {
                    "id": str(uuid.uuid4()),
                    "outlet_id": self.shop.outlet_id,
                    "lines": [{"product_id": i.id, "qty": rng.randint(1, 3)} for i in items],
                    "tenders": [{"kind": "cash", "amount_minor": 20_000}],
                }
                answer = self.sell(http, body)
                if answer is not None and answer.status_code == 201:
                    self.receipts.append(answer.json())
                else:
                    self.refused.append("no answer" if answer is None else f"{answer.status_code} {answer.text[:200]}")

    @staticmethod
    def sell(http: httpx.Client, body: dict[str, Any], attempts: int = 20) -> httpx.Response | None:
        """As the till's pay dialog does: no answer, or 502/503/504 (a hop timed out on a
        busy box: "nothing was charged, try again"), sends the same sale again under the
        same id, which the server answers as the first time; anything else is the answer."""
        answer: httpx.Response | None = None
        for _ in range(attempts):
            try:
                answer = http.post("/api/sales", json=body)
            except httpx.HTTPError:
                answer = None
            else:
                if answer.status_code not in (502, 503, 504):
                    return answer
            time.sleep(0.5)
        return answer


def test_three_tills_sync_their_offline_queues_at_once_while_another_sells_online(
    open_tab: Callable[..., Tab], server: Server
) -> None:
    admin = server.client(server.token(server.admin_email, server.admin_password))
    with admin:
        shop = burst.make_shop(admin, TILLS, products=6, name="Burst test")
    rng = random.Random(15)
    tabs = []
    for register, cashier in zip(shop.registers, shop.cashiers, strict=True):
        tab = open_tab(1280, 800)
        burst.start_till(tab.page, server.base_url, cashier, register.name)
        tabs.append(tab)

    # The first till takes its first sale offline itself: the cart is on the till when
    # the link drops, the cashier takes cash.
    first = tabs[0].page
    item = shop.items[0]
    add_by_sku(first, item.sku, item.id)
    first.context.set_offline(True)
    expect_text(first.get_by_test_id("offline-status"), r"Offline")
    first.keyboard.press("F4")
    expect_text(first.get_by_test_id("pay-offline-note"), r"cash only")
    first.keyboard.press("F9")
    first.keyboard.press("Enter")
    own_number = f"R{shop.registers[0].number}-OFF000001"
    expect_text(first.get_by_test_id("receipt-number"), f"^{own_number}$")
    first.get_by_test_id("new-sale").click()
    (taken,) = burst.queued_rows(first)

    bodies = [taken["body"]]
    for n, (tab, register) in enumerate(zip(tabs, shop.registers, strict=True)):
        own = 1 if n == 0 else 0
        rows = burst.offline_queue(rng, shop, register, SALES_PER_TILL - own, first_sequence=own + 1)
        if n == 0:
            # What is written has the shape of what the till wrote itself.
            assert set(rows[0]) | {"seq"} == set(taken), (sorted(rows[0]), sorted(taken))
            assert set(rows[0]["body"]) == set(taken["body"]), (sorted(rows[0]["body"]), sorted(taken["body"]))
            assert set(rows[0]["body"]["lines"][0]) == set(taken["body"]["lines"][0])
        burst.queue_offline(tab.page, register, rows, last_before=own, already_queued=own)
        bodies += [r["body"] for r in rows]
    assert len({b["receipt_number"] for b in bodies}) == TILLS * SALES_PER_TILL

    # Another till at the outlet keeps selling online while the three come back.
    online = OnlineTill(server, server.token(*shop.cashiers[0]), shop)
    online.start()
    for tab in tabs:
        tab.page.context.set_offline(False)
    for n, tab in enumerate(tabs):
        # What the cashier sees: the bar saying sales are waiting goes away.
        eventually(
            lambda t=tab: not t.page.get_by_test_id("offline-status").is_visible(), f"till {n + 1} to send its sales", timeout=120
        )
    online.stop.set()
    online.join(timeout=120)
    assert not online.is_alive()
    assert online.refused == [], online.refused
    assert len(online.receipts) >= online.at_least

    for tab, register in zip(tabs, shop.registers, strict=True):
        state = burst.queue_state(tab.page)
        assert state["queued"] == []
        mine = sorted(b["receipt_number"] for b in bodies if b["register_id"] == register.id)
        assert sorted(s["receipt_number"] for s in state["synced"]) == mine
        assert state["counters"] == [{"register_id": register.id, "last": SALES_PER_TILL}]

    with server.client(server.token(server.admin_email, server.admin_password)) as admin:
        checked = burst.check_outlet(
            admin,
            shop.outlet_id,
            bodies,
            shop.stock_before,
            online_bodies=[as_sold(r) for r in online.receipts],
            settle_timeout=60,
        )
    assert checked["ok"], checked["problems"]
    assert checked["sales"] == TILLS * SALES_PER_TILL + len(online.receipts)
