"""The same random history on real MariaDB: one event per transaction through the
consumer, and replayed in batches by the rebuild, give exactly the reports SQLite gives;
and consumer threads racing on the same rows lose no update."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pymysql
import pytest

from pos_contracts import Envelope
from pos_platform.testing import mint_token
from pos_reports import rebuild
from pos_reports.velocity import refresh_velocity
from services.reports.tests.conftest import make_client
from services.reports.tests.workload import RANGE, fetch_all, history
from tests.databases import scratch_mariadb

pytestmark = pytest.mark.integration

DATABASES = ("pos_it_reports_live", "pos_it_reports_replay", "pos_it_reports_race")


def url(name: str) -> str:
    return f"mysql+pymysql://root@127.0.0.1:3306/{name}"


@pytest.fixture
def databases() -> Iterator[None]:
    with scratch_mariadb(*DATABASES):
        yield


def test_mariadb_gives_the_reports_sqlite_gives(databases: None, tmp_path: Path, keys: tuple[Path, Path]) -> None:
    events = history(seed=11)
    token = mint_token(keys[0], "admin", [])
    with make_client(f"sqlite:///{tmp_path}/reference.db", keys[1]) as reference:
        for env in events:
            reference.app.state.ctx.consumer.handle(env)
        expected = fetch_all(reference, token)

    with make_client(url("pos_it_reports_live"), keys[1]) as live:
        for env in events:
            live.app.state.ctx.consumer.handle(env)
        assert fetch_all(live, token) == expected
        # The velocity refreshed in MariaDB (the changed levels found by a join) answers
        # the days of cover the sums at the request gave.
        cover = {"date_to": RANGE["date_to"]}
        summed = live.get("/api/reports/stock/cover", params=cover, headers={"Authorization": f"Bearer {token}"}).json()
        refresh_velocity(live.app.state.ctx.db, today=date.fromisoformat(RANGE["date_to"]))
        refreshed = live.get("/api/reports/stock/cover", params=cover, headers={"Authorization": f"Bearer {token}"}).json()
        assert refreshed["velocity_computed_at"] is not None and summed["velocity_computed_at"] is None
        assert refreshed["rows"] == summed["rows"] and any(r["sold"] for r in summed["rows"])

    path = tmp_path / "history.jsonl"
    path.write_text("".join(env.model_dump_json() + "\n" for env in events))
    assert (
        rebuild.main(["--file", str(path), "--database-url", url("pos_it_reports_replay"), "--yes", "--batch-size", "500"]) == 0
    )
    with make_client(url("pos_it_reports_replay"), keys[1]) as replayed:
        assert fetch_all(replayed, token) == expected
        # A second rebuild empties and refills: the same again.
        assert rebuild.main(["--file", str(path), "--database-url", url("pos_it_reports_replay"), "--yes"]) == 0
        assert fetch_all(replayed, token) == expected


def test_consumer_threads_racing_on_the_same_rows_lose_nothing(databases: None, keys: tuple[Path, Path]) -> None:
    events = history(seed=5)
    first = [e for e in events if e.type in ("OutletCreated", "ProductCreated", "UserChanged")]
    sales = [e for e in events if e.type in ("SaleCompleted", "SaleRefunded", "PaymentCaptured")]
    token = mint_token(keys[0], "admin", [])
    with make_client(url("pos_it_reports_race"), keys[1]) as client:
        consumer = client.app.state.ctx.consumer
        for env in first:
            consumer.handle(env)

        def deliver(env: Envelope) -> None:
            consumer.handle(env)
            consumer.handle(env)  # and once more: the inbox must hold

        with ThreadPoolExecutor(12) as pool:
            list(pool.map(deliver, sales))
        report = client.get(
            "/api/reports/sales/daily",
            params={"date_from": "2026-01-01", "date_to": "2026-03-31"},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen_sales, seen_refunds = set(), set()
    for env in sales:
        p = env.payload
        if env.type == "SaleCompleted" and p["sale_id"] not in seen_sales:
            seen_sales.add(p["sale_id"])
            expected[p["currency"]]["sales_count"] += 1
            expected[p["currency"]]["gross_minor"] += p["total_minor"]
            expected[p["currency"]]["items_sold"] += sum(line["qty"] for line in p["lines"])
        elif env.type == "SaleRefunded" and p["refund_id"] not in seen_refunds:
            seen_refunds.add(p["refund_id"])
            expected[p["currency"]]["refund_minor"] += p["total_minor"]
    got = {
        t["currency"]: {k: t[k] for k in ("sales_count", "gross_minor", "items_sold", "refund_minor")}
        for t in report["totals_by_currency"]
    }
    assert got == {c: dict(v) | {k: 0 for k in ("refund_minor",) if k not in v} for c, v in expected.items()}


LOCK_DB = "pos_it_reports_lock"


@pytest.fixture
def lock_database() -> Iterator[str]:
    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{LOCK_DB}`")
        cur.execute(f"CREATE DATABASE `{LOCK_DB}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    yield url(LOCK_DB)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{LOCK_DB}`")
    conn.close()


def test_stock_received_while_its_product_is_announced_is_valued_in_the_products_currency(
    lock_database: str, keys: tuple[Path, Path]
) -> None:
    """Two consumer threads at the same moment: one takes the product's ProductCreated,
    the other a delivery of that product (different producers, different queues: no
    order between them). The delivery must not read "no such product" while the
    announcement is under way, or its stock stays valued under currency "" for good:
    it waits for the announcement and is valued in the product's currency at its cost."""
    import threading
    import time

    from pos_contracts.events import ProductCreated, StockAdjusted
    from pos_reports.handlers import HANDLERS
    from services.reports.tests.builders import envelope, outlet, product

    token = mint_token(keys[0], "admin", [])
    with make_client(lock_database, keys[1]) as client:
        consumer = client.app.state.ctx.consumer
        consumer.handle(envelope(outlet("o1", "Harbour")))
        tea: ProductCreated = product("p1", "Tea", cost=250)
        received = envelope(StockAdjusted(outlet_id="o1", product_id="p1", delta=10, reason="receipt", on_hand_after=10))
        delivery = threading.Thread(target=consumer.handle, args=(received,))
        with client.app.state.ctx.db.transaction() as uow:
            HANDLERS["ProductCreated"](uow, tea, envelope(tea))  # in this transaction, not committed yet
            delivery.start()
            time.sleep(1.0)
            assert delivery.is_alive(), "the delivery did not wait for the product's announcement"
        delivery.join(timeout=30)
        assert not delivery.is_alive()
        report = client.get("/api/reports/stock/valuation", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(r["currency"], r["units"], r["value_minor"], r["uncosted_products"]) for r in report["rows"]] == [
        ("EUR", 10, 2500, 0)
    ]


def test_a_count_s_low_stock_and_adjustment_handled_at_once_keep_the_reorder_point(
    lock_database: str, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inventory publishes LowStockDetected (level 0 under its reorder point 4) and
    StockAdjusted (the count: 1 on hand) of a new level together; two consumer threads
    may take them at the same moment. Here the first has read the level (not stored
    yet) and not written it when the second arrives: the second must wait for the first
    and read what it wrote, so the level ends at 1 with its reorder point 4, listed as
    low. (It did not wait: the first then wrote its own figures over the second's, and
    the report said 0 on hand.)"""
    import threading
    import time

    from pos_contracts.events import LowStockDetected, StockAdjusted
    from pos_reports.handlers import HANDLERS
    from pos_reports.projection import Changes
    from services.reports.tests.builders import envelope, outlet, product

    token = mint_token(keys[0], "admin", [])
    with make_client(lock_database, keys[1]) as client:
        consumer = client.app.state.ctx.consumer
        consumer.handle(envelope(outlet("o1", "Harbour")))
        consumer.handle(envelope(product("p1", "Oat milk", cost=90)))
        low = LowStockDetected(outlet_id="o1", product_id="p1", on_hand=0, reorder_point=4)
        low_envelope = envelope(low)
        counted = envelope(StockAdjusted(outlet_id="o1", product_id="p1", delta=1, reason="correction", on_hand_after=1))
        delivery = threading.Thread(target=consumer.handle, args=(counted,))
        first = threading.current_thread()
        set_stock = Changes.set_stock

        def between_read_and_write(self: Changes, key: tuple[str, ...], state: Any) -> None:
            if threading.current_thread() is first and not delivery.is_alive() and delivery.ident is None:
                delivery.start()  # the other thread's delivery, while this one has read the level
                time.sleep(1.0)
            set_stock(self, key, state)

        monkeypatch.setattr(Changes, "set_stock", between_read_and_write)
        with client.app.state.ctx.db.transaction() as uow:
            HANDLERS["LowStockDetected"](uow, low, low_envelope)
        delivery.join(timeout=30)
        assert delivery.ident is not None and not delivery.is_alive()
        report = client.get("/api/reports/stock/low", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(r["product_id"], r["on_hand"], r["reorder_point"]) for r in report["rows"]] == [("p1", 1, 4)]
