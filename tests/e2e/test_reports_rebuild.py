"""Reports rebuilt from the producers' live history feeds give the same reports, on the
local stack through the gateway (ADR 0033, docs/reports.md "Rebuild").

A workload (sales with line and cart discounts, cash / card / split tenders, refunds on
a register, a void, shifts opened and closed) at three new outlets; once the reports
have counted it, every report (JSON, and a CSV) is read. Then `python -m
pos_reports.rebuild` empties the read models of the running service and replays the
five services' `GET /api/<service>/events` feeds: every report must read the same.
Then sales' outbox is pruned (its sent rows deleted, as an operator's clean-up would)
and the rebuild runs again with sales' events regenerated from its tables
(`GET /api/sales/history`) instead: the same reports again.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_offline_sync import offline_sale
from tests.e2e.test_reports_reconciliation import Shop, eventually, ok
from tests.stack_fixture import ROOT, Stack, stack_args

pytestmark = pytest.mark.e2e

SERVICES = ("identity", "catalog", "inventory", "payments", "sales")
SALE_EVENTS = {"SaleCompleted": "sale_id", "SaleRefunded": "refund_id", "SaleVoided": "sale_id", "ShiftClosed": "shift_id"}


def database_url(service: str) -> str:
    args = stack_args()
    return f"mysql+pymysql://root@127.0.0.1:3306/{args[args.index('--db-prefix') + 1]}{service}"


def without_moments(value: Any) -> Any:
    """A report less the moment it was worked out (the velocity behind days of cover is
    refreshed by the rebuild, later than by the service)."""
    if isinstance(value, dict):
        return {k: without_moments(v) for k, v in value.items() if not k.endswith("computed_at")}
    if isinstance(value, list):
        return [without_moments(v) for v in value]
    return value


def days() -> dict[str, str]:
    """From the day before yesterday to tomorrow (UTC): every outlet's local today."""
    today = datetime.now(UTC).date()
    return {"date_from": (today - timedelta(days=2)).isoformat(), "date_to": (today + timedelta(days=1)).isoformat()}


def every_report(admin: httpx.Client) -> dict[str, Any]:
    scope = days()
    views: list[tuple[str, dict[str, Any]]] = [
        ("sales/daily", {}),
        ("sales/daily", {"by": "day"}),
        ("sales/hourly", {}),
        ("sales/hourly", {"by": "day_hour"}),
        ("sales/items", {"limit": 1000}),
        ("sales/items", {"order": "asc", "sort": "qty", "include_unsold": "true", "limit": 1000}),
        ("sales/items", {"sort": "margin", "limit": 1000}),
        ("sales/categories", {}),
        ("sales/cashiers", {}),
        ("sales/cashiers", {"by": "register"}),
        ("sales/tenders", {}),
        ("sales/tender-currencies", {}),
        ("sales/outlets", {}),
        ("stock/valuation", {}),
        ("stock/low", {}),
        ("stock/cover", {}),
        ("shifts", {}),
        ("shifts", {"by": "cashier"}),
        ("shifts/cash", {}),
    ]
    got = {
        f"{path} {sorted(params.items())}": without_moments(ok(admin.get(f"/api/reports/{path}", params=scope | params)))
        for path, params in views
    }
    for path in ("sales/items", "sales/cashiers", "shifts"):
        response = admin.get(f"/api/reports/{path}", params=scope | {"format": "csv", "limit": 1000})
        assert response.status_code == 200, response.text
        got[f"{path} csv"] = response.text
    return got


def settled(admin: httpx.Client) -> dict[str, Any]:
    """The reports once two readings a second apart agree (every event delivered)."""
    last = every_report(admin)
    for _ in range(60):
        time.sleep(1)
        now = every_report(admin)
        if now == last:
            return now
        last = now
    raise AssertionError("the reports kept changing")


def rebuild(stack: Stack, token: str, feeds: list[str]) -> str:
    command = [
        sys.executable, "-m", "pos_reports.rebuild", "--yes", "--token", token, "--page-size", "20", "--batch-size", "25",
        "--database-url", database_url("reports"),
        *(arg for feed in feeds for arg in ("--feed", f"{stack.base_url}{feed}")),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    print(done.stderr)  # the progress bar (a line every 5 % when not on a terminal)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert '"poison": 0' in summary, summary
    assert "read models emptied" in done.stderr and "100.0%" in done.stderr and "events in" in done.stderr
    return summary


def every_event(admin: httpx.Client, path: str) -> list[dict[str, Any]]:
    events, after = [], None
    while True:
        page = ok(admin.get(path, params={"limit": 500} | ({"after": after} if after is not None else {})))
        events += page["events"]
        after = page["next_after"]
        if after is None or not page["events"]:
            return events


def sold_before_its_product_existed(shop: Shop, admin: httpx.Client) -> dict[str, Any]:
    """A sale a till made offline at the UTC outlet a moment before the product was in
    the catalog, synced before any other sale of the workload: regenerated from sales'
    tables (oldest row first), its SaleCompleted occurred (sold_at) before the product's
    ProductCreated, so a rebuild merging the feeds by occurred_at applies it first. It
    is costed at the cost sales recorded with it (SaleLine.unit_cost_minor), as the live
    reports did; without that the rebuild counted it at no cost (docs/reports.md)."""
    outlet_id = shop.outlet_ids[0]
    register = ok(admin.get(f"/api/identity/registers/{shop.registers[outlet_id][0]}"))
    product = shop.products[0]
    # offline_sale reads a shop's outlet and products only: this workload's, in that shape
    till = SimpleNamespace(outlet={"id": outlet_id}, products={"first": product})
    body = offline_sale(till, register, 1, shop.before_products, "first", product["price_minor"])  # type: ignore[arg-type]  # the stand-in above
    return ok(admin.post("/api/sales/offline", json=body), 201)


def test_rebuild_from_the_live_feeds_and_after_an_outbox_prune_gives_the_same_reports(local_stack: Stack) -> None:
    seed = int(os.environ.get("POS_TEST_SEED", str(int(time.time()))))
    print(f"rebuild workload seed: {seed}")
    rng = random.Random(seed)
    token = local_stack.login()
    admin = local_stack.client(token)
    shop = Shop(local_stack, admin, rng)
    offline = sold_before_its_product_existed(shop, admin)
    shop.open_registers()
    made = [s for s in (shop.sell() for _ in range(24)) if s]
    refunded = [r for r in (shop.refund(s) for s in rng.sample(made, 4)) if r]
    cart = {
        "id": str(uuid.uuid4()),
        "outlet_id": shop.outlet_ids[0],
        "register_id": shop.registers[shop.outlet_ids[0]][0],
        "reason": "walked out",
    }
    cart["lines"] = [{"product_id": shop.products[0]["id"], "qty": 1}]
    ok(admin.post("/api/sales/voids", json=cart), 201)
    closed = shop.close_registers()
    assert shop.discounts and shop.card and shop.refunds and shop.shifts, "the stack lacks a feature the workload needs"
    assert any(s["discount_minor"] for s in made) and any(len(s["tenders"]) > 1 for s in made)
    assert refunded and len(closed) == 6

    def counted() -> bool:
        rows = ok(admin.get("/api/reports/sales/daily", params={"outlet_id": shop.outlet_ids, "by": "day"} | days()))[
            "totals_by_currency"
        ]
        return sum(r["sales_count"] for r in rows) == len(made) + 1 and sum(r["refund_count"] for r in rows) == len(refunded)

    eventually(counted, "the reports to count the workload")
    live = settled(admin)
    cost = shop.products[0]["cost_minor"]
    [costed] = [r for r in live["sales/items [('limit', 1000)]"]["rows"] if r["product_id"] == offline["lines"][0]["product_id"]]
    assert costed["cost_minor"] == costed["qty"] * cost > 0  # the offline sale too, at the product's cost
    discounts = live["sales/cashiers [('by', 'register')]"]["rows"]
    assert any(r["discount_minor"] for r in discounts if r["outlet_id"] in shop.outlet_ids)

    # 1. from every service's outbox feed
    feeds = [f"/api/{service}/events" for service in SERVICES]
    print(rebuild(local_stack, token, feeds))
    assert every_report(admin) == live

    # 2. sales' outbox pruned: its events regenerated from the sales tables
    published = {
        (e["type"], e["payload"][SALE_EVENTS[e["type"]]]): e["payload"]
        for e in every_event(admin, "/api/sales/events")
        if e["type"] in SALE_EVENTS
    }
    engine = create_engine(database_url("sales"))
    with engine.begin() as conn:
        pruned = conn.execute(text("DELETE FROM outbox WHERE sent_at IS NOT NULL")).rowcount
    engine.dispose()
    assert pruned >= len(published) > 0
    assert not [e for e in every_event(admin, "/api/sales/events") if e["type"] in SALE_EVENTS]
    regenerated = {
        (e["type"], e["payload"][SALE_EVENTS[e["type"]]]): e["payload"] for e in every_event(admin, "/api/sales/history")
    }
    assert regenerated == published  # every sale, refund, void and shift, field for field

    feeds = [f"/api/{service}/events" for service in SERVICES if service != "sales"] + ["/api/sales/history"]
    print(rebuild(local_stack, token, feeds))
    assert every_report(admin) == live
