#!/usr/bin/env python3
"""The offline sync burst of issue 15, in Chromium through the stack's nginx: N tills
come back online together with M queued offline sales each, and their own queue code
(web/src/lib/offlineQueue.ts) sends them while scripts/loadgen.py runs online tills.

    # a stack of its own (see docs/performance.md, "Offline sync burst"), then:
    flock /tmp/pos-heavy.lock .venv/bin/python scripts/bench_offline_burst.py \\
        --base-url http://127.0.0.1:48080 --state-dir var/burst-stack \\
        --tills 10 --sales-per-till 100 --online-tills 8 --rounds 3

Each round:
1. Through the API: an outlet with one register per till, a cashier per till, products
   with stock at the outlet (sales must know every price and register first).
2. Chromium (one browser, a context per till = its own IndexedDB, sessionStorage and
   service worker): each till logs in as its cashier and picks its register, as a
   cashier does; the app fills its catalogue replica and keeps the outlet's settings.
3. Each till goes offline (the context's network cut). Its queue is then filled by
   writing M well-formed records into the till's own IndexedDB (`pos-till-offline`: the
   `queue` rows of offlineDb.ts's QueuedSale and the `counters` row of its register, in
   one transaction, as takeOfflineSale writes them), priced in Python by the sales
   service's own pricing domain (pos_sales.domain, which web/src/lib/pricing.ts mirrors
   and is tested against), numbered R<register number>-OFF<seq>. Then the page is
   reloaded while still offline (the app from its service worker, the queue from
   IndexedDB) and the till shows "M sales not sent yet". Why not ring them on the till's
   keyboard: 1,000 sales by keyboard take longer than the burst being measured, and
   what is measured (the sync) reads the same rows whichever way they were written.
4. scripts/loadgen.py starts its online tills; when its load has begun, every till's
   link comes back (set_offline(False), one context after the other) and each till's
   queue sends its sales, oldest first, one at a time, as it does in the shop. The run
   ends when sales holds all N x M (polled every 0.5 s); loadgen is then stopped
   (SIGUSR1) and runs its own checks.
5. Checks: every queued sale recorded exactly once (the outlet's sales by receipt
   number, with the ids the tills queued), COMPLETED and fulfilled; every till's queue
   empty; stock moved exactly by what the queued sales sold; the reports' day totals
   (count, items, gross, discount, tax) and the cash tender total equal the sales to the
   cent; no sync exception; loadgen's checks all passed.
6. The same loadgen with no burst, for as long as the burst lasted (back to back, after
   the burst's events have been consumed): the reference for the online tills' figures.

Prints each round and the medians; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import loadgen  # noqa: E402  (scripts/loadgen.py: credentials, percentiles, /proc CPU)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STOCK_PER_PRODUCT = 100_000
OFFLINE_DB = "pos-till-offline"


# --- the shop, through the API ----------------------------------------------------------


@dataclass(frozen=True)
class Register:
    id: str
    number: int
    name: str


@dataclass(frozen=True)
class Item:
    id: str
    sku: str
    name: str
    price_minor: int
    tax_class: str


@dataclass
class BurstShop:
    outlet_id: str
    registers: list[Register]
    cashiers: list[tuple[str, str]]
    items: list[Item]
    settings: dict[str, Any]
    stock_before: dict[str, int] = field(default_factory=dict)
    # register id -> the user id of the cashier who sells on it (the body's cashier_id)
    cashier_ids: dict[str, str] = field(default_factory=dict)


def _ok(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


def wait_for(check: Any, what: str, timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise RuntimeError(f"timed out waiting for {what}; last value: {last!r}")


def make_shop(admin: httpx.Client, tills: int, *, products: int = 20, seed: int = 15, name: str = "Burst") -> BurstShop:
    """An outlet with a register and a cashier per till, and products in stock there."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6].upper()
    outlet = _ok(admin.post("/api/identity/outlets", json={"name": f"{name} {tag}", "currency": "EUR"}), "create outlet")
    registers = []
    for n in range(1, tills + 1):
        made = _ok(
            admin.post("/api/identity/registers", json={"outlet_id": outlet["id"], "name": f"Till {n:02d}"}), "create register"
        )
        registers.append(Register(made["id"], made["number"], made["name"]))
    cashiers = []
    cashier_ids: list[str] = []
    for n in range(1, tills + 1):
        email = f"burst-{tag.lower()}-{n:02d}@example.com"
        password = f"{uuid.uuid4().hex[:16]}-Aa1"
        user = _ok(
            admin.post(
                "/api/identity/users",
                json={
                    "email": email,
                    "name": f"Till {n:02d} Cashier",
                    "password": password,
                    "role": "cashier",
                    "outlets": [outlet["id"]],
                },
            ),
            "create cashier",
        )
        cashiers.append((email, password))
        cashier_ids.append(user["id"])
    items = []
    for n in range(1, products + 1):
        body = {
            "sku": f"OB-{tag}-{n:03d}",
            "name": f"Burst item {n}",
            "price_minor": rng.randint(50, 2000),
            "tax_class": ["standard", "reduced", "zero"][n % 3],
        }
        made = _ok(admin.post("/api/catalog/products", json=body), "create product")
        items.append(Item(made["id"], made["sku"], made["name"], made["price_minor"], made["tax_class"]))
    levels = _ok(
        admin.post(
            "/api/inventory/receipts",
            json={
                "outlet_id": outlet["id"],
                "lines": [{"product_id": i.id, "qty": STOCK_PER_PRODUCT} for i in items],
                "reference": "offline burst",
            },
        ),
        "receive stock",
    )
    shop = BurstShop(
        outlet["id"],
        registers,
        cashiers,
        items,
        {},
        {level["product_id"]: level["on_hand"] for level in levels},
        {register.id: user_id for register, user_id in zip(registers, cashier_ids, strict=True)},
    )
    # Sales learns prices and registers from events: wait until it knows them all, as a
    # till's register and catalogue exist long before the till goes offline.
    for item in items:
        wait_for(lambda i=item: admin.get(f"/api/sales/prices/{i.id}").status_code == 200, f"sales to know {item.sku}")
    for register in registers:
        probe = {"outlet_id": shop.outlet_id, "register_id": register.id, "lines": [{"product_id": items[0].id, "qty": 1}]}
        wait_for(
            lambda p=probe: admin.post("/api/sales/quote", json=p).status_code == 200, f"sales to know register {register.name}"
        )
    shop.settings = _ok(admin.get(f"/api/sales/outlets/{shop.outlet_id}/settings"), "outlet settings")
    return shop


# --- offline sales, priced as the till prices them ------------------------------------------


def iso_ms(moment: datetime) -> str:
    """As JavaScript's Date.toISOString() writes it (what the till sends as sold_at)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def price_offline_sale(
    rng: random.Random, shop: BurstShop, register: Register, sequence: int, sold_at: datetime
) -> dict[str, Any]:
    """The body of POST /api/sales/offline for a random cash cart, exactly as the till's
    takeOfflineSale builds it (offlineSale.ts buildOfflineSale: the lines priced by
    pricing.ts from the cart's shelf prices, category_id null as the till's cart lines
    carry none; the cash settled with the outlet's cash rounding), priced here by the
    sales service's own domain. 1 sale in 10 has a 10 % line discount (under the
    outlet's approval threshold, so the till takes it offline)."""
    from pos_sales.domain import CartLine, CatalogPrice, Discount, PricingPolicy, TenderIn, price_cart, round_to_increment, settle

    s = shop.settings
    policy = PricingPolicy(
        tax_rates_bp=dict(s["tax_rates_bp"]),
        prices_include_tax=s["prices_include_tax"],
        rounding_mode=s["rounding_mode"],
        cash_rounding_minor=s["cash_rounding_minor"],
        discount_approval_bp=s["discount_approval_bp"],
    )
    chosen = rng.sample(shop.items, rng.randint(1, 4))
    prices = {i.id: CatalogPrice(i.id, i.sku, i.name, None, i.price_minor, s["currency"], i.tax_class) for i in chosen}
    discounted = rng.random() < 0.1
    lines = [
        CartLine(i.id, rng.randint(1, 3), Discount("percent", 1000) if discounted and n == 0 else None)
        for n, i in enumerate(chosen)
    ]
    cart = price_cart(lines, prices, policy=policy)
    due = round_to_increment(cart.total_minor, policy.cash_rounding_minor)  # what the cash pays
    handed = due if rng.random() < 0.5 else ((due // 500) + 1) * 500  # exact, or the next 5.00 note
    paid = settle(cart.total_minor, [TenderIn("cash", handed)], cash_rounding_minor=policy.cash_rounding_minor)
    return {
        "id": str(uuid.uuid4()),
        "outlet_id": shop.outlet_id,
        "register_id": register.id,
        "receipt_number": f"R{register.number}-OFF{sequence:06d}",
        "sold_at": iso_ms(sold_at),
        "currency": cart.currency,
        "prices_include_tax": cart.prices_include_tax,
        "lines": [
            {
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "category_id": line.category_id,
                "qty": line.qty,
                "unit_price_minor": line.unit_price_minor,
                "discount_minor": line.discount_minor,
                "tax_rate_bp": line.tax_rate_bp,
                "tax_minor": line.tax_minor,
                "total_minor": line.total_minor,
            }
            for line in cart.lines
        ],
        "total_minor": cart.total_minor,
        "tax_minor": cart.tax_minor,
        "rounding_minor": paid.rounding_minor,
        "tenders": [{"kind": "cash", "amount_minor": t.amount_minor, "tendered_minor": t.tendered_minor} for t in paid.tenders],
        "change_minor": paid.change_minor,
        # the cashier logged in on that till when it sold (offlineSale.ts: TillContext.cashierId)
        **({"cashier_id": shop.cashier_ids[register.id]} if register.id in shop.cashier_ids else {}),
    }


def queued_row(body: dict[str, Any], created_at_ms: int) -> dict[str, Any]:
    """offlineDb.ts QueuedSale, as takeOfflineSale adds it (seq: the store's own key)."""
    return {
        "id": body["id"],
        "register_id": body["register_id"],
        "body": body,
        "created_at": created_at_ms,
        "status": "pending",
        "attempts": 0,
        "last_status": None,
        "last_error": None,
        "last_attempt_at": None,
    }


def offline_queue(
    rng: random.Random, shop: BurstShop, register: Register, count: int, *, first_sequence: int = 1, minutes: float = 30.0
) -> list[dict[str, Any]]:
    """`count` queue rows for a till that has been offline for `minutes`, oldest first."""
    now = datetime.now(UTC)
    rows = []
    for k in range(count):
        sold = now - timedelta(minutes=minutes) + timedelta(minutes=minutes) * (k + 1) / (count + 1)
        body = price_offline_sale(rng, shop, register, first_sequence + k, sold)
        rows.append(queued_row(body, int(sold.timestamp() * 1000)))
    return rows


# Runs in the till's page: the rows and the register's sequence in ONE read-write
# transaction on the database the app opened (never created here: an upgrade means the
# app has not opened its store, and is refused), refused if the sequence is not where
# the rows start.
INJECT_JS = """
async ({ dbName, registerId, rows, lastBefore, lastAfter }) => {
  // Never wait for ever (a round once hung here): a blocked open or a transaction that
  // never completes fails the round with a sentence after 60 s.
  const deadline = (what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} took over 60 s`)), 60_000));
  const db = await Promise.race([deadline(`opening ${dbName}`), new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onupgradeneeded = () => { open.transaction.abort(); };
    open.onblocked = () => reject(new Error(`opening ${dbName} is blocked by another connection (a version change pending)`));
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(new Error(`the till has not opened ${dbName} yet: ${open.error}`));
  })]);
  try {
    return await Promise.race([deadline("writing the queue"), new Promise((resolve, reject) => {
      const tx = db.transaction(["counters", "queue"], "readwrite");
      const counters = tx.objectStore("counters");
      const queue = tx.objectStore("queue");
      const read = counters.get(registerId);
      read.onsuccess = () => {
        const last = read.result ? read.result.last : 0;
        if (last !== lastBefore) {
          tx.abort();
          reject(new Error(`register ${registerId}: the till's offline sequence is at ${last}, not ${lastBefore}`));
          return;
        }
        for (const row of rows) queue.add(row);
        counters.put({ register_id: registerId, last: lastAfter });
      };
      tx.oncomplete = () => resolve(rows.length);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("the queue's transaction was aborted"));
    })]);
  } finally {
    db.close();
  }
}
"""

QUEUE_STATE_JS = """
async (dbName) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    const all = (store) => new Promise((resolve, reject) => {
      const r = db.transaction(store).objectStore(store).getAll();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const queue = await all("queue");
    const synced = await all("synced");
    const counters = await all("counters");
    return {
      queued: queue.map((r) => ({ id: r.id, status: r.status, attempts: r.attempts, last_status: r.last_status, last_error: r.last_error })),
      synced: synced.map((r) => ({ id: r.id, receipt_number: r.receipt_number, synced_at: r.synced_at })),
      counters,
    };
  } finally {
    db.close();
  }
}
"""


# --- the tills in Chromium -----------------------------------------------------------------


def start_till(page: Any, base_url: str, cashier: tuple[str, str], register_name: str) -> None:
    """Log in as the cashier and pick the register, as at a till; wait until the app can
    sell offline (service worker in control, the outlet's settings kept)."""
    page.goto(base_url + "/")
    page.get_by_label("Email").fill(cashier[0])
    page.get_by_label("Password").fill(cashier[1])
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()
    pick = page.get_by_role("button", name=register_name, exact=True)
    till = page.get_by_test_id("till")
    pick.or_(till).first.wait_for()
    if not till.is_visible():
        pick.click()
    till.wait_for()
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=60_000)
    page.wait_for_function("() => Object.keys(localStorage).some((k) => k.startsWith('pos.outletSettings.'))", timeout=60_000)
    page.wait_for_function(
        "(name) => indexedDB.databases().then((all) => all.some((d) => d.name === name))", arg=OFFLINE_DB, timeout=60_000
    )


def queue_offline(
    page: Any, register: Register, rows: list[dict[str, Any]], *, last_before: int = 0, already_queued: int = 0
) -> None:
    """Cut the till's link, write its queue (after `already_queued` sales the till took
    itself, numbered up to `last_before`), reload it offline; wait until it shows them."""
    from playwright.sync_api import expect

    page.context.set_offline(True)
    expect(page.get_by_test_id("offline-status")).to_contain_text("Offline", timeout=30_000)
    written = page.evaluate(
        INJECT_JS,
        {
            "dbName": OFFLINE_DB,
            "registerId": register.id,
            "rows": rows,
            "lastBefore": last_before,
            "lastAfter": last_before + len(rows),
        },
    )
    assert written == len(rows), written
    page.reload()
    count = already_queued + len(rows)
    expect(page.get_by_test_id("unsynced-count")).to_have_text(
        f"{count} {'sale' if count == 1 else 'sales'} not sent yet", timeout=30_000
    )
    expect(page.get_by_test_id("offline-status")).to_contain_text("Offline")


QUEUED_ROWS_JS = """
async (dbName) => {
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const r = db.transaction("queue").objectStore("queue").getAll();
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
  } finally {
    db.close();
  }
}
"""


def queued_rows(page: Any) -> list[dict[str, Any]]:
    """The till's queue as IndexedDB holds it, oldest first."""
    return page.evaluate(QUEUED_ROWS_JS, OFFLINE_DB)


def queue_state(page: Any) -> dict[str, Any]:
    return page.evaluate(QUEUE_STATE_JS, OFFLINE_DB)


# --- what the server holds ------------------------------------------------------------------


def outlet_sales(admin: httpx.Client, outlet_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for offset in range(0, 1_000_000, 500):
        page = _ok(admin.get("/api/sales", params={"outlet_id": outlet_id, "limit": 500, "offset": offset}), "list sales")
        found += page["items"]
        if len(page["items"]) < 500:
            break
    return found


def completed_count(admin: httpx.Client, outlet_id: str) -> int:
    return _ok(admin.get("/api/sales", params={"outlet_id": outlet_id, "status": "COMPLETED", "limit": 1}), "count sales")[
        "total"
    ]


def expected_totals(bodies: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "sales_count": len(bodies),
        "items_sold": sum(line["qty"] for b in bodies for line in b["lines"]),
        "gross_minor": sum(b["total_minor"] for b in bodies),
        "discount_minor": sum(line["discount_minor"] for b in bodies for line in b["lines"]),
        "tax_minor": sum(b["tax_minor"] for b in bodies),
        "cash_minor": sum(t["amount_minor"] for b in bodies for t in b["tenders"] if t["kind"] == "cash"),
    }


def units_sold(bodies: list[dict[str, Any]]) -> dict[str, int]:
    units: dict[str, int] = defaultdict(int)
    for body in bodies:
        for line in body["lines"]:
            units[line["product_id"]] += line["qty"]
    return dict(units)


def sold_days(bodies: list[dict[str, Any]]) -> tuple[str, str]:
    days = sorted(b["sold_at"][:10] for b in bodies)
    return days[0], days[-1]


def report_totals(admin: httpx.Client, outlet_id: str, days: tuple[str, str]) -> dict[str, int]:
    scope = {"outlet_id": outlet_id, "date_from": days[0], "date_to": days[1]}
    daily = _ok(admin.get("/api/reports/sales/daily", params=scope), "daily report")["totals"] or {}
    tenders = _ok(admin.get("/api/reports/sales/tenders", params=scope), "tenders report")["rows"]
    found = {k: int(daily.get(k, 0)) for k in ("sales_count", "items_sold", "gross_minor", "discount_minor", "tax_minor")}
    found["cash_minor"] = sum(t["captured_minor"] for t in tenders if t["kind"] == "cash")
    return found


def stock_levels(admin: httpx.Client, outlet_id: str, product_ids: list[str]) -> dict[str, int]:
    return {p: _ok(admin.get(f"/api/inventory/stock/{outlet_id}/{p}"), "stock level")["on_hand"] for p in product_ids}


def check_outlet(
    admin: httpx.Client,
    outlet_id: str,
    bodies: list[dict[str, Any]],
    stock_before: dict[str, int],
    *,
    online_bodies: Sequence[dict[str, Any]] = (),
    settle_timeout: float = 120.0,
) -> dict[str, Any]:
    """What a manager would check once the tills have synced: each queued sale recorded
    once under its receipt number and id, completed and fulfilled; the stock moved by
    what was sold; the day's report and cash equal the sales; no sync exception.
    `online_bodies`: sales rung online at the same outlet meanwhile (their receipts)."""
    online = list(online_bodies)
    everything = bodies + online
    problems: list[str] = []

    def settled() -> list[dict[str, Any]] | None:
        sales = outlet_sales(admin, outlet_id)
        done = len(sales) >= len(everything) and all(s["status"] == "COMPLETED" and s["fulfilment"] == "fulfilled" for s in sales)
        return sales if done else None

    try:
        sales = wait_for(settled, "every sale completed and fulfilled", timeout=settle_timeout, every=0.5)
    except RuntimeError as exc:
        problems.append(str(exc)[:300])
        sales = outlet_sales(admin, outlet_id)
    by_receipt = Counter(s["receipt_number"] for s in sales)
    offline_ids = {s["receipt_number"]: s["id"] for s in sales}
    twice = sorted(n for n, c in by_receipt.items() if c > 1)
    missing = sorted(b["receipt_number"] for b in bodies if b["receipt_number"] not in by_receipt)
    wrong_id = sorted(b["receipt_number"] for b in bodies if offline_ids.get(b["receipt_number"], b["id"]) != b["id"])
    unexpected = len(sales) - len(everything)
    if twice:
        problems.append(f"{len(twice)} receipt numbers recorded more than once, e.g. {twice[:5]}")
    if missing:
        problems.append(f"{len(missing)} queued sales not recorded, e.g. {missing[:5]}")
    if wrong_id:
        problems.append(f"{len(wrong_id)} receipts recorded under another sale id, e.g. {wrong_id[:5]}")
    if unexpected:
        problems.append(f"{len(sales)} sales at the outlet, {len(everything)} were sold")
    not_done = Counter(
        (s["status"], s["fulfilment"]) for s in sales if (s["status"], s["fulfilment"]) != ("COMPLETED", "fulfilled")
    )
    if not_done:
        problems.append(f"sales not completed and fulfilled: {dict(not_done)}")

    sold = defaultdict(int, units_sold(everything))
    after = stock_levels(admin, outlet_id, sorted(stock_before))
    moved_wrong = {p: (stock_before[p] - after[p], sold[p]) for p in stock_before if stock_before[p] - after[p] != sold[p]}
    if moved_wrong:
        problems.append(f"stock moved otherwise than sold (moved, sold): {dict(list(moved_wrong.items())[:5])}")

    expected = expected_totals(everything)
    days = sold_days(everything)
    try:
        reported = wait_for(
            lambda: (r := report_totals(admin, outlet_id, days)) == expected and r,
            "the reports to count the sales",
            timeout=settle_timeout,
            every=0.5,
        )
    except RuntimeError:
        reported = report_totals(admin, outlet_id, days)
        problems.append(f"reports {reported} != sales {expected}")
    exceptions = _ok(
        admin.get("/api/sales/sync-exceptions", params={"outlet_id": outlet_id, "state": "all", "limit": 500}), "sync exceptions"
    )
    if exceptions:
        problems.append(f"{len(exceptions)} sync exceptions: {Counter(e['kind'] for e in exceptions)}")
    return {
        "ok": not problems,
        "problems": problems,
        "sales": len(sales),
        "units": sum(sold.values()),
        "expected": expected,
        "reported": reported,
        "created_at": sorted(s["created_at"] for s in sales if s["receipt_number"] in {b["receipt_number"] for b in bodies}),
        "arrivals_by_register": arrivals_by_register(sales, bodies),
    }


def arrivals_by_register(sales: list[dict[str, Any]], bodies: list[dict[str, Any]]) -> dict[str, list[str]]:
    """When sales recorded each queued sale (its created_at), per register, in order."""
    queued = {b["receipt_number"] for b in bodies}
    found: dict[str, list[str]] = defaultdict(list)
    for sale in sales:
        if sale["receipt_number"] in queued:
            found[sale["register_id"]].append(sale["created_at"])
    return {k: sorted(v) for k, v in found.items()}


def steady_rate(by_register: dict[str, list[str]], link_back_at: datetime, links_back: list[float]) -> tuple[float | None, float]:
    """Sales recorded per second while every till was syncing: from the moment the last
    link came back to the moment the first till had sent its whole queue."""
    start = link_back_at + timedelta(seconds=max(links_back))
    ends = [loadgen.parse_utc(v[-1]) for v in by_register.values() if v]
    if not ends:
        return None, 0.0
    end = min(ends)
    window = (end - start).total_seconds()
    inside = sum(1 for v in by_register.values() for t in v if start <= loadgen.parse_utc(t) <= end)
    return (round(inside / window, 1) if window > 5 else None), round(window, 1)


# --- CPU of the processes this run started (Chromium, the Playwright driver) ------------------


def descendants(root: int) -> dict[int, str]:
    children: dict[int, list[int]] = defaultdict(list)
    comm: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    found: dict[int, str] = {}
    todo = list(children[root])
    while todo:
        pid = todo.pop()
        found[pid] = comm.get(pid, "?")
        todo += children[pid]
    return found


def chromium_kind(pid: int) -> str:
    """chromium (the browser process), chromium renderer, chromium gpu-process, ..."""
    try:
        # Chromium rewrites its process title: the arguments are joined by spaces.
        args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
    except OSError:
        return "chromium"
    kind = next((a.decode().split("=", 1)[1] for a in args if a.startswith(b"--type=")), "")
    sub = next((a.decode().split("=", 1)[1] for a in args if a.startswith(b"--utility-sub-type=")), "")
    if sub:
        kind = sub.split(".")[0]
    return f"chromium {kind}" if kind else "chromium"


def driver_cpu() -> dict[str, float]:
    """CPU seconds of Chromium (by kind of process: the browser, its renderers, ...), the
    Playwright driver and this process."""
    totals: dict[str, float] = defaultdict(float)
    for pid, name in descendants(os.getpid()).items():
        label = chromium_kind(pid) if "chrom" in name else "playwright driver" if name.startswith("node") else None
        if label:
            seconds = loadgen._proc_cpu_seconds(pid)
            totals[label] += seconds or 0.0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["bench driver"] = usage.ru_utime + usage.ru_stime
    return dict(totals)


# --- where the CPU goes (py-spy, a run of its own: sampling costs CPU too) -----------------


def start_profilers(state_dir: str, services: list[str], out_dir: Path) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    """`py-spy record --gil` (only samples where a thread holds the GIL: Python CPU) of
    each process of the given services, until stopped."""
    spy = Path(sys.executable).with_name("py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = []
    for pid, label in sorted(loadgen.stack_processes(Path(state_dir)).items(), key=lambda kv: kv[1]):
        if service_of(label) not in services:
            continue
        out = out_dir / f"{label}.txt"
        cmd = [str(spy), "record", "--gil", "--nonblocking", "--rate", "50", "--format", "raw", "-o", str(out), "-p", str(pid)]
        started.append((label, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return started


def stop_profilers(started: list[tuple[str, subprocess.Popen[bytes], Path]]) -> dict[str, Any]:
    found = {}
    for label, process, out in started:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        if out.exists():
            found[label] = summarize_profile(out.read_text())
    return found


def summarize_profile(collapsed: str, top: int = 12) -> dict[str, Any]:
    """Shares of the samples: by the innermost frame (self), and by the project's own
    functions anywhere on the stack (inclusive), from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for row in collapsed.splitlines():
        stack, _, count = row.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1].split(" (")[0] + " (" + frames[-1].rsplit("/", 1)[-1]] += n
        for frame in {f for f in frames if "(pos_" in f}:
            inclusive[frame.split(" (")[0] + " (" + frame.split("(pos_", 1)[1]] += n
    share = lambda c: [(name, round(100 * k / total, 1)) for name, k in c.most_common(top)]  # noqa: E731
    return {"samples": total, "self": share(own), "project_inclusive": share(inclusive)} if total else {"samples": 0}


def summarize_js_profile(profile: dict[str, Any], top: int = 14) -> dict[str, Any]:
    """Self samples by function (name, file) from a V8 CPU profile (CDP Profiler)."""
    own: Counter[str] = Counter()
    for node in profile["nodes"]:
        frame = node["callFrame"]
        where = frame["url"].rsplit("/", 1)[-1] or "-"
        own[f"{frame['functionName'] or '(anonymous)'} ({where})"] += node.get("hitCount", 0)
    total = sum(own.values())
    busy = total - own.get("(idle) (-)", 0)
    return {
        "samples": total,
        "busy_pct": round(100 * busy / total, 1) if total else 0,
        "self": [(name, round(100 * k / total, 1)) for name, k in own.most_common(top)],
        "project_inclusive": [],
    }


# --- a round -----------------------------------------------------------------------------------


def loadgen_cmd(args: argparse.Namespace, duration: float, seed: int) -> list[str]:
    return [
        sys.executable, str(ROOT / "scripts" / "loadgen.py"), "--base-url", args.base_url, "--state-dir", args.state_dir,
        "--tills", str(args.online_tills), "--duration", f"{duration:.1f}", "--card-share", str(args.card_share),
        "--seed", str(seed), "--json",
    ]  # fmt: skip


def loadgen_result(out: str, err: str, code: int | None) -> dict[str, Any]:
    start = out.find("\n{")
    if start < 0:
        raise RuntimeError(f"loadgen printed no JSON (exit {code}):\n{out[-2000:]}\n{err[-2000:]}")
    return json.loads(out[start + 1 :])


def run_baseline(args: argparse.Namespace, duration: float, seed: int) -> dict[str, Any]:
    done = subprocess.run(loadgen_cmd(args, duration, seed), capture_output=True, text=True, check=False)
    return loadgen_result(done.stdout, done.stderr, done.returncode)


def one_round(args: argparse.Namespace, browser: Any, admin: httpx.Client, round_no: int) -> dict[str, Any]:
    rng = random.Random(1000 + round_no)
    shop = make_shop(admin, args.tills, seed=round_no, name=f"Burst r{round_no}")
    print(
        f"[burst] round {round_no}: outlet {shop.outlet_id}, {args.tills} registers and cashiers, {len(shop.items)} products",
        flush=True,
    )
    contexts = []
    try:
        pages = []
        started = time.monotonic()
        for n, (register, cashier) in enumerate(zip(shop.registers, shop.cashiers, strict=True)):
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-IE", timezone_id="UTC")
            context.set_default_timeout(30_000)
            contexts.append(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            start_till(page, args.base_url, cashier, register.name)
            pages.append((page, errors))
            print(f"[burst]   till {n + 1} open ({register.name}, R{register.number})", flush=True)
        bodies: list[dict[str, Any]] = []
        for (page, _), register in zip(pages, shop.registers, strict=True):
            rows = offline_queue(rng, shop, register, args.sales_per_till)
            queue_offline(page, register, rows)
            bodies += [r["body"] for r in rows]
        print(
            f"[burst]   {len(bodies)} sales queued offline on {len(pages)} tills ({time.monotonic() - started:.0f} s to set up)",
            flush=True,
        )

        # Online tills first; the link comes back once their load has begun.
        process = subprocess.Popen(
            loadgen_cmd(args, loadgen.MAX_DURATION_SECONDS, 2000 + round_no),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        err_lines = []
        assert process.stderr is not None  # stderr=PIPE
        for line in process.stderr:
            err_lines.append(line)
            if "load started" in line:
                break
        else:
            raise RuntimeError("loadgen did not start: " + "".join(err_lines)[-2000:])
        profilers = (
            start_profilers(args.state_dir, args.profile_services, Path(args.profile) / f"round-{round_no}")
            if args.profile
            else []
        )
        cdp = None
        if args.profile:
            # The first till's renderer: where its JavaScript spends the CPU while it syncs.
            cdp = pages[0][0].context.new_cdp_session(pages[0][0])
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
            cdp.send("Profiler.start")
        cpu_before = driver_cpu()
        link_back = time.monotonic()
        link_back_at = datetime.now(UTC)
        links_back = []  # when each till's link came back (Playwright, one context after the other)
        for page, _ in pages:
            page.context.set_offline(False)
            links_back.append(round(time.monotonic() - link_back, 2))
        total = len(bodies)
        seen, last_change, last_seen = 0, time.monotonic(), 0
        progress = []
        stalled = False
        while seen < total:
            time.sleep(0.5)
            seen = completed_count(admin, shop.outlet_id)
            now = time.monotonic()
            progress.append((round(now - link_back, 2), seen))
            if seen != last_seen:
                last_seen, last_change = seen, now
            elif now - last_change > args.stall_seconds:
                stalled = True
                break
        all_recorded = time.monotonic() - link_back
        cpu_after = driver_cpu()
        profile = stop_profilers(profilers)
        if cdp is not None:
            profile["till 1 renderer (JS)"] = summarize_js_profile(cdp.send("Profiler.stop")["profile"])
        process.send_signal(signal.SIGUSR1)
        out, err = process.communicate(timeout=600)
        during = loadgen_result(out, "".join(err_lines) + err, process.returncode)
        queues = [queue_state(page) for page, _ in pages]
        if stalled:
            print(f"[burst]   STALLED at {seen} of {total} for {args.stall_seconds:.0f} s; the tills' queues:", flush=True)
            for n, q in enumerate(queues):
                left = Counter((r["status"], r["last_status"], (r["last_error"] or "")[:80]) for r in q["queued"])
                print(f"      till {n + 1}: {len(q['queued'])} left {dict(left)}", flush=True)

        def emptied() -> list[dict[str, Any]] | None:
            states = [queue_state(page) for page, _ in pages]
            return states if all(not s["queued"] for s in states) else None

        try:
            queues = wait_for(emptied, "every till's queue to be empty", timeout=30, every=0.5)
        except RuntimeError:
            pass
        checks = check_outlet(admin, shop.outlet_id, bodies, shop.stock_before)
        left_on_tills = sum(len(q["queued"]) for q in queues)
        synced_on_tills = sum(len(q["synced"]) for q in queues)
        if left_on_tills:
            checks["ok"] = False
            checks["problems"].append(f"{left_on_tills} sales still in the tills' queues")
        if synced_on_tills != total:
            checks["ok"] = False
            checks["problems"].append(f"the tills kept {synced_on_tills} synced receipts, {total} were queued")
        page_errors = [e for _, errors in pages for e in errors]
        if page_errors:
            checks["ok"] = False
            checks["problems"].append(f"page errors: {page_errors[:3]}")
    finally:
        for context in contexts:
            context.close()

    arrivals = [loadgen.parse_utc(t) for t in checks["created_at"]]
    steady, steady_window = steady_rate(checks["arrivals_by_register"], link_back_at, links_back)
    per_till = [
        round((loadgen.parse_utc(v[-1]) - loadgen.parse_utc(v[0])).total_seconds(), 1)
        for v in checks["arrivals_by_register"].values()
        if v
    ]
    first_to_last = (max(arrivals) - min(arrivals)).total_seconds() if len(arrivals) > 1 else None
    baseline = run_baseline(args, during["duration_s"], 2000 + round_no)
    offline_route = during["gateway_routes"].get("POST /api/sales/offline", {})
    result = {
        "round": round_no,
        "sales": total,
        "stalled": stalled,
        "link_back_to_all_recorded_s": round(all_recorded, 2),
        "first_to_last_s": round(first_to_last, 2) if first_to_last is not None else None,
        "sync_rate": round((total - 1) / first_to_last, 1) if first_to_last else None,
        "links_back_s": links_back,
        "steady_rate": steady,
        "steady_window_s": steady_window,
        "per_till_first_to_last_s": sorted(per_till),
        "progress": progress,
        "offline_post_ms": {k: offline_route.get(k) for k in ("count", "p50_ms", "p95_ms", "p99_ms", "statuses")},
        "driver_cpu_s": {k: round(cpu_after.get(k, 0) - cpu_before.get(k, 0), 2) for k in cpu_after},
        "checks": checks,
        "profile": profile,
        "during": during,
        "baseline": baseline,
    }
    return result


# --- summary -----------------------------------------------------------------------------------


def online(result: dict[str, Any]) -> dict[str, Any]:
    lag = result["lag_ledger_ms"]["p99"]
    return {
        "sales_s": result["completed_per_s"],
        "p50": result["latency_ms"]["p50"],
        "p99": result["latency_ms"]["p99"],
        "lag_p99": lag[1] if result["lag_ledger_ms"]["second_resolution"] else lag[0],
        "duration": result["duration_s"],
        "sales": round(result["completed_per_s"] * result["duration_s"]),
        "checks_ok": all(result["checks"].values()),
    }


def service_of(label: str) -> str:
    return label.rsplit("-", 1)[0] if label[-1].isdigit() else label


def offline_cpu_ms(result: dict[str, Any]) -> dict[str, float]:
    """CPU per synced offline sale, by service: the burst window's CPU less what its
    online sales cost at the baseline's CPU per online sale (an estimate)."""
    during, base = result["during"], result["baseline"]
    online_during = online(during)["sales"]
    burst: dict[str, float] = defaultdict(float)
    per_online: dict[str, float] = defaultdict(float)
    for label, seconds in during["cpu_seconds"].items():
        burst[service_of(label)] += seconds
    base_sales = max(online(base)["sales"], 1)
    for label, seconds in base["cpu_seconds"].items():
        per_online[service_of(label)] += seconds / base_sales
    for label, seconds in result["driver_cpu_s"].items():
        burst[label] += seconds
    return {k: round(1000 * (burst[k] - online_during * per_online.get(k, 0.0)) / result["sales"], 2) for k in burst}


def med(values: list[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.median(real) if real else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_round(r: dict[str, Any]) -> None:
    d, b = online(r["during"]), online(r["baseline"])
    c = r["checks"]
    bad = [k for k, ok in r["during"]["checks"].items() if not ok] + [k for k, ok in r["baseline"]["checks"].items() if not ok]
    print(
        f"[burst] round {r['round']}: {r['sales']} offline sales; link back -> all recorded {fmt(r['link_back_to_all_recorded_s'])} s, "
        f"first -> last {fmt(r['first_to_last_s'])} s = {fmt(r['sync_rate'])} sales/s; POST /api/sales/offline p50 {fmt(r['offline_post_ms']['p50_ms'])} "
        f"p99 {fmt(r['offline_post_ms']['p99_ms'])} ms {r['offline_post_ms']['statuses']}",
        flush=True,
    )
    print(
        f"[burst]   online tills during the burst: {fmt(d['sales_s'])} sales/s, p50 {fmt(d['p50'])} p99 {fmt(d['p99'])} ms, lag p99 {fmt(d['lag_p99'])} ms | "
        f"without: {fmt(b['sales_s'])} sales/s, p50 {fmt(b['p50'])} p99 {fmt(b['p99'])} ms, lag p99 {fmt(b['lag_p99'])} ms ({fmt(b['duration'])} s)",
        flush=True,
    )
    print(
        f"[burst]   links back over {fmt(max(r['links_back_s']))} s (set_offline, one till after the other); every till syncing: "
        f"{fmt(r['steady_rate'])} sales/s over {fmt(r['steady_window_s'])} s; each till's queue first -> last: "
        f"{fmt(min(r['per_till_first_to_last_s']))}-{fmt(max(r['per_till_first_to_last_s']))} s",
        flush=True,
    )
    per = offline_cpu_ms(r)
    browser = sum(v for k, v in r["driver_cpu_s"].items() if k.startswith("chromium"))
    print(
        f"[burst]   Chromium (the tills) used {browser / r['link_back_to_all_recorded_s']:.2f} cores during the burst: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(r["driver_cpu_s"].items(), key=lambda kv: -kv[1])),
        flush=True,
    )
    print(
        "[burst]   CPU ms per offline sale (estimate): "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(per.items(), key=lambda kv: -kv[1])),
        flush=True,
    )
    print(
        f"[burst]   checks: burst {'OK' if c['ok'] else 'FAILED: ' + '; '.join(c['problems'])} "
        f"(sales {c['sales']}, units {c['units']}, reports {c['reported']}); loadgen {'OK' if not bad else 'FAILED: ' + ', '.join(bad)}",
        flush=True,
    )


def print_profile(r: dict[str, Any]) -> None:
    for label, found in sorted(r.get("profile", {}).items()):
        if not found.get("samples"):
            continue
        print(f"[burst]   py-spy {label} ({found['samples']} samples with the GIL):", flush=True)
        print("      self:    " + "; ".join(f"{n} {p} %" for n, p in found["self"]), flush=True)
        if found["project_inclusive"]:
            print("      project: " + "; ".join(f"{n} {p} %" for n, p in found["project_inclusive"]), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="the stack's gateway (loopback)")
    parser.add_argument("--state-dir", required=True, help="the stack's state dir (admin-credentials.txt, pids)")
    parser.add_argument("--tills", type=int, default=10)
    parser.add_argument("--sales-per-till", type=int, default=100)
    parser.add_argument("--online-tills", type=int, default=8)
    parser.add_argument("--card-share", type=float, default=0.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stall-seconds", type=float, default=120.0, help="give up when no sale arrives for this long")
    parser.add_argument("--json", default=None, help="write every round's results here")
    parser.add_argument(
        "--profile", default=None, help="py-spy each service process during the burst, collapsed stacks into this folder"
    )
    parser.add_argument("--profile-services", nargs="+", default=["sales", "payments", "inventory", "reports"])
    args = parser.parse_args(argv)
    if not loadgen.is_loopback_url(args.base_url):
        parser.error("--base-url must be a loopback address")
    args.base_url = args.base_url.rstrip("/")
    credentials = loadgen.parse_credentials((Path(args.state_dir) / "admin-credentials.txt").read_text())

    from playwright.sync_api import sync_playwright

    results = []
    with httpx.Client(base_url=args.base_url, timeout=30, trust_env=False) as admin, sync_playwright() as p:
        token = _ok(
            admin.post("/api/identity/login", json={"email": credentials["email"], "password": credentials["password"]}), "log-in"
        )["access_token"]
        admin.headers["Authorization"] = f"Bearer {token}"
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for round_no in range(1, args.rounds + 1):
                result = one_round(args, browser, admin, round_no)
                results.append(result)
                print_round(result)
                print_profile(result)
        finally:
            browser.close()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))

    print(
        f"\n{args.tills} tills x {args.sales_per_till} offline sales, {args.online_tills} online tills (card share {args.card_share}), medians of {len(results)} rounds:"
    )
    print(
        f"  links back over {fmt(med([max(r['links_back_s']) for r in results]))} s; "
        f"every till syncing: {fmt(med([r['steady_rate'] for r in results]))} sales/s"
    )
    print(f"  link back -> all recorded: {fmt(med([r['link_back_to_all_recorded_s'] for r in results]))} s")
    print(
        f"  first -> last recorded:    {fmt(med([r['first_to_last_s'] for r in results]))} s = {fmt(med([r['sync_rate'] for r in results]))} offline sales/s"
    )
    print(
        f"  POST /api/sales/offline at the gateway: p50 {fmt(med([r['offline_post_ms']['p50_ms'] for r in results]))} ms, "
        f"p99 {fmt(med([r['offline_post_ms']['p99_ms'] for r in results]))} ms"
    )
    for key, name in (("during", "during the burst"), ("baseline", "no burst")):
        rows = [online(r[key]) for r in results]
        print(
            f"  online tills, {name:<16}: {fmt(med([x['sales_s'] for x in rows]))} sales/s, checkout p50 {fmt(med([x['p50'] for x in rows]))} ms, "
            f"p99 {fmt(med([x['p99'] for x in rows]))} ms, SaleCompleted->StockDeducted p99 {fmt(med([x['lag_p99'] for x in rows]))} ms"
        )
    ratios = [
        online(r["during"])["sales_s"] / online(r["baseline"])["sales_s"] for r in results if online(r["baseline"])["sales_s"]
    ]
    print(f"  online sales/s during the burst / without: {fmt(med(ratios), 2)}")
    per = [offline_cpu_ms(r) for r in results]
    keys = sorted({k for p in per for k in p}, key=lambda k: -(med([p.get(k) for p in per]) or 0))
    print("  CPU ms per offline sale (estimate): " + ", ".join(f"{k} {fmt(med([p.get(k) for p in per]))}" for k in keys))
    failed = [f"round {r['round']}: {'; '.join(r['checks']['problems'])}" for r in results if not r["checks"]["ok"]]
    failed += [
        f"round {r['round']} loadgen {key}: {[k for k, ok in r[key]['checks'].items() if not ok]}"
        for r in results
        for key in ("during", "baseline")
        if not all(r[key]["checks"].values())
    ]
    if failed:
        print("\nchecks FAILED:\n  " + "\n  ".join(failed))
        return 1
    print("\nevery check passed in every round (each queued sale recorded once, stock, reports, loadgen's checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
