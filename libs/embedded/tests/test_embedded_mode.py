"""`make run`'s mode, as a newcomer meets it: one process, no servers, a seeded demo
chain, and a cash sale that moves stock and reaches the reports through the same
outbox/inbox code as the real stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pos_platform.testing import free_port


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("embedded")
    port = free_port()
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pos_embedded", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "POS_LOG_LEVEL": "WARNING"},
    )
    try:
        deadline = time.monotonic() + 60
        while not (data_dir / "demo-seeded").exists():
            assert proc.poll() is None, (data_dir / "server.log").read_text()
            assert time.monotonic() < deadline, "the demo chain was not seeded within 60 s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", data_dir
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def credentials(data_dir: Path) -> dict[str, str]:
    """Each log-in's email -> password, and the manager's PIN as `manager@example.com PIN`."""
    lines = (data_dir / "admin-credentials.txt").read_text().splitlines()
    fields = dict(line.split(": ", 1) for line in lines)
    return {fields["email"]: fields["password"], **{k: v for k, v in fields.items() if "@" in k}}


def login(base: str, email: str, password: str) -> httpx.Client:
    token = httpx.post(f"{base}/api/identity/login", json={"email": email, "password": password}).raise_for_status().json()
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)


def test_first_start_seeds_a_demo_chain(embedded: tuple[str, Path]) -> None:
    base, data_dir = embedded
    users = credentials(data_dir)
    assert set(users) == {
        "admin@example.com",
        "manager@example.com",
        "cashier@example.com",
        "manager@example.com PIN",
        "cashier@example.com PIN",
    }
    with login(base, "admin@example.com", users["admin@example.com"]) as admin:
        outlets = admin.get("/api/identity/outlets").json()
        assert len(outlets) == 2
        assert admin.get("/api/catalog/products", params={"limit": 1}).json()["total"] >= 30
        assert admin.get("/api/inventory").json()["total"] >= 60
        # A register per outlet, so the tills have shifts from the start.
        registers = admin.get("/api/identity/registers").json()
        assert sorted((r["outlet_id"], r["name"], r["active"]) for r in registers) == sorted(
            (o["id"], "Till 1", True) for o in outlets
        )
    assert httpx.get(base + "/").status_code == 200
    # The printed PIN is the manager's: it gets a cashier an approval at the till.
    with login(base, "cashier@example.com", users["cashier@example.com"]) as cashier:
        outlet = cashier.get("/api/identity/outlets").json()[0]["id"]
        staff = cashier.get(f"/api/identity/outlets/{outlet}/staff").json()
        manager = next(s for s in staff if s["role"] == "manager")
        assert manager["has_pin"] is True
        body = {"action": "refund", "outlet_id": outlet, "approver_id": manager["id"], "pin": users["manager@example.com PIN"]}
        assert cashier.post("/api/identity/approvals", json=body).status_code == 201
        # The manager takes over the cashier's till with their PIN (Switch cashier), and
        # the cashier takes it back with theirs.
        switched = cashier.post(
            "/api/identity/switch", json={"outlet_id": outlet, "user_id": manager["id"], "pin": users["manager@example.com PIN"]}
        )
        assert switched.status_code == 200 and switched.json()["user"]["role"] == "manager", switched.text
        me = next(s for s in staff if s["role"] == "cashier")
        assert me["has_pin"] is True
        # The products under their reorder point are on the managers' restocking tile.
        low = cashier.get("/api/inventory/low-stock/summary").json()
        assert low["low"] == 4, low  # every ninth of the 36 products, at the first outlet


def test_cash_sale_end_to_end_without_servers(embedded: tuple[str, Path]) -> None:
    base, data_dir = embedded
    users = credentials(data_dir)
    with (
        login(base, "cashier@example.com", users["cashier@example.com"]) as cashier,
        login(base, "manager@example.com", users["manager@example.com"]) as manager,
    ):
        outlet = cashier.get("/api/identity/outlets").json()[0]["id"]
        product = cashier.get("/api/catalog/products", params={"q": "Croissant"}).json()["items"][0]
        before = cashier.get(f"/api/inventory/stock/{outlet}/{product['id']}").json()["on_hand"]
        sale_id = str(uuid.uuid4())
        sale = cashier.post(
            "/api/sales",
            json={
                "id": sale_id,
                "outlet_id": outlet,
                "lines": [{"product_id": product["id"], "qty": 2}],
                "tenders": [{"kind": "cash", "amount_minor": 1000}],
            },
        )
        assert sale.status_code == 201, sale.text
        assert sale.json()["total_minor"] == 2 * product["price_minor"]
        assert sale.json()["change_minor"] == 1000 - 2 * product["price_minor"]
        deadline = time.monotonic() + 10
        while cashier.get(f"/api/sales/{sale_id}").json()["fulfilment"] != "fulfilled":
            assert time.monotonic() < deadline, "StockDeducted never reached sales"
            time.sleep(0.1)
        assert cashier.get(f"/api/inventory/stock/{outlet}/{product['id']}").json()["on_hand"] == before - 2

        def reported() -> bool:
            rows = manager.get("/api/reports/sales/items", params={"outlet_id": outlet}).json()["rows"]
            return any(row["product_id"] == product["id"] and row["qty"] >= 2 for row in rows)

        deadline = time.monotonic() + 10
        while not reported():
            assert time.monotonic() < deadline, "SaleCompleted never reached the reports"
            time.sleep(0.1)


def test_each_service_serves_its_event_history_to_admins(embedded: tuple[str, Path]) -> None:
    """The feed reports' rebuild replays: everything a service published, oldest first."""
    base, data_dir = embedded
    users = credentials(data_dir)
    with login(base, "admin@example.com", users["admin@example.com"]) as admin:
        first = admin.get("/api/catalog/events", params={"limit": 10}).json()
        assert len(first["events"]) == 10 and first["total"] >= 36
        assert [e["type"] for e in first["events"]].count("ProductCreated") == 10
        rest = admin.get("/api/catalog/events", params={"after": first["next_after"], "limit": 5000}).json()
        ids = [e["event_id"] for e in first["events"] + rest["events"]]
        assert len(ids) == len(set(ids)) == first["total"]
        assert rest["next_after"] is None
    with login(base, "cashier@example.com", users["cashier@example.com"]) as cashier:
        assert cashier.get("/api/sales/events").status_code == 403


def test_demo_history_is_sold_through_sales_and_reported_on_its_days(embedded: tuple[str, Path]) -> None:
    """`make run`'s past sales (here three days, a few a day): recorded by the sales
    service as sales made on those days, so the daily report shows each day's sales and
    takings as they were sold, and the stock ends where it was."""
    from pos_embedded.history import seed_history

    base, data_dir = embedded
    users = credentials(data_dir)
    with login(base, "admin@example.com", users["admin@example.com"]) as admin:
        outlet = next(o for o in admin.get("/api/identity/outlets").json() if o["name"] == "Harbour Street")["id"]
        stock_before = {
            row["product_id"]: row["on_hand"]
            for row in admin.get("/api/inventory", params={"outlet_id": outlet, "limit": 500}).json()["items"]
        }
        done = seed_history(base, "admin@example.com", users["admin@example.com"], 3, per_day=4)
        assert done.sales == sum(n for n, _ in done.by_day.values()) > 0
        assert done.sync_exceptions == 0  # nothing for a manager to look at
        days = sorted({day for _, day in done.by_day})
        assert len(days) == 3
        expected = {(o, d.isoformat()): figures for (o, d), figures in done.by_day.items()}

        def reported() -> dict[tuple[str, str], list[int]]:
            rows = admin.get(
                "/api/reports/sales/daily", params={"date_from": days[0].isoformat(), "date_to": days[-1].isoformat()}
            ).json()["rows"]
            return {(r["outlet_id"], r["day"]): [r["sales_count"], r["gross_minor"]] for r in rows}

        deadline = time.monotonic() + 20
        while reported() != expected:
            assert time.monotonic() < deadline, (reported(), expected)
            time.sleep(0.2)
        # A customer brought one back (a refund is made now: it counts today, not then).
        assert done.refunds == 1

        def refunds_today() -> int:
            rows = admin.get("/api/reports/sales/daily", params={"date_from": (days[-1] + timedelta(days=1)).isoformat()}).json()
            return sum(r["refund_count"] for r in rows["rows"])

        deadline = time.monotonic() + 20
        while refunds_today() != 1:
            assert time.monotonic() < deadline, refunds_today()
            time.sleep(0.2)
        # Its offline limit is back as it was, and the stock where it was ...
        assert admin.get(f"/api/sales/outlets/{outlet}/settings").json()["offline_max_hours"] == 24
        deadline = time.monotonic() + 20
        while True:
            after = {
                row["product_id"]: row["on_hand"]
                for row in admin.get("/api/inventory", params={"outlet_id": outlet, "limit": 500}).json()["items"]
            }
            # ... but for what a refund put back on the shelf
            if after == {p: qty + done.restocked[(outlet, p)] for p, qty in stock_before.items()}:
                break
            assert time.monotonic() < deadline, "the history's stock receipt and sales did not even out"
            time.sleep(0.2)

        # The server stopped mid-way last time: the history is recorded again on the next
        # start. Nothing is sold or received twice, and the offline limit the interrupted
        # run left at 720 h goes back to what it was before the first run.
        settings = admin.get(f"/api/sales/outlets/{outlet}/settings").json()
        admin.put(f"/api/sales/outlets/{outlet}/settings", json={**settings, "offline_max_hours": 720}).raise_for_status()
        limits = data_dir / "history-test.limits.json"
        limits.write_text(json.dumps({outlet: 24}))
        again = seed_history(base, "admin@example.com", users["admin@example.com"], 3, per_day=4, limits_file=limits)
        assert again.sales == done.sales and again.sync_exceptions == 0
        assert reported() == expected
        assert refunds_today() == 1
        assert {
            row["product_id"]: row["on_hand"]
            for row in admin.get("/api/inventory", params={"outlet_id": outlet, "limit": 500}).json()["items"]
        } == after
        assert admin.get(f"/api/sales/outlets/{outlet}/settings").json()["offline_max_hours"] == 24
        assert not limits.exists()
