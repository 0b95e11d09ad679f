"""SaleCompleted applied a batch per transaction (stock.deduct_sales, set-based for held
reservations) leaves exactly what one event per transaction leaves: the same levels, the
same ledger rows in the same order, the same events, on SQLite and on MariaDB. The batch
mixes what the set-based path takes with what it hands on: a sale with no reservation,
one whose lines differ from its reservation, a second copy of a sale, a product nobody
announced, and levels crossing their reorder point."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select

from pos_inventory.app import create_app
from pos_inventory.config import Settings
from pos_inventory.tables import ledger, reservations, stock
from pos_platform.bus import InProcessBus
from pos_platform.testing import mint_token
from tests.databases import scratch_mariadb

from .conftest import A, B, envelope, product, sale

PRODUCTS = [f"p{i}" for i in range(6)]


def workload(client: TestClient, cashier: dict[str, str]) -> list[Any]:
    """Stock, reorder points, reservations; returns the SaleCompleted envelopes to deliver."""
    rng = random.Random(7)
    consumer = client.app.state.ctx.consumer
    for p in PRODUCTS:
        product(consumer, p)
    for outlet in (A, B):
        lines = [{"product_id": p, "qty": 40} for p in PRODUCTS]
        assert (
            client.post("/api/inventory/receipts", json={"outlet_id": outlet, "lines": lines}, headers=cashier).status_code == 201
        )
        for p in PRODUCTS[:3]:
            body = {"outlet_id": outlet, "product_id": p, "reorder_point": 30}
            assert client.put("/api/inventory", json=body, headers=cashier).status_code == 200
    deliveries = []
    for n in range(40):
        outlet = rng.choice([A, B])
        lines = [(p, rng.randint(1, 3)) for p in rng.sample(PRODUCTS, rng.randint(1, 3))]
        event = sale(lines, sale_id=f"sale-{n:02d}", outlet_id=outlet)
        kind = n % 8
        if kind != 0:  # most sales reserve first; every eighth came offline (no reservation)
            reserved = lines if kind != 1 else [*lines, ("p5", 1)]  # reserved more than it sold
            body = {"sale_id": event.sale_id, "outlet_id": outlet, "lines": [{"product_id": p, "qty": q} for p, q in reserved]}
            assert client.post("/api/inventory/reservations", json=body, headers=cashier).status_code == 201
        deliveries.append(envelope(event, outlet))
        if kind == 2:
            deliveries.append(envelope(event, outlet))  # published again under a new event id
    ghost = sale([("p0", 1), ("ghost-product", 2)], sale_id="sale-ghost", outlet_id=A)
    deliveries.append(envelope(ghost, A))
    return deliveries


def state(client: TestClient) -> dict[str, Any]:
    db = client.app.state.ctx.db
    with db.transaction() as uow:
        levels = [
            tuple(r)
            for r in uow.session.execute(
                select(stock.c.outlet_id, stock.c.product_id, stock.c.on_hand, stock.c.reserved, stock.c.low_alerted).order_by(
                    stock.c.outlet_id, stock.c.product_id
                )
            )
        ]
        rows = [
            tuple(r)
            for r in uow.session.execute(
                select(
                    ledger.c.outlet_id,
                    ledger.c.product_id,
                    ledger.c.delta,
                    ledger.c.kind,
                    ledger.c.reference,
                    ledger.c.on_hand_after,
                    ledger.c.oversold,
                )
                .where(ledger.c.kind == "sale")
                .order_by(ledger.c.id)
            )
        ]
        held = [
            tuple(r)
            for r in uow.session.execute(select(reservations.c.sale_id, reservations.c.status).order_by(reservations.c.sale_id))
        ]
        bodies = [json.loads(b) for b in uow.session.scalars(select(db.outbox.c.body).order_by(db.outbox.c.id))]
    events = [(e["type"], e["payload"]) for e in bodies if e["type"] in ("StockDeducted", "LowStockDetected")]
    return {"levels": levels, "ledger": rows, "reservations": held, "events": events}


def run(settings: Settings, keys: tuple[Path, Path], batch: bool) -> dict[str, Any]:
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True)
    with TestClient(app) as client:
        token = mint_token(keys[0], "manager", [A, B])
        deliveries = workload(client, {"Authorization": f"Bearer {token}"})
        consumer = client.app.state.ctx.consumer
        if batch:
            before = REGISTRY.get_sample_value("pos_consumer_batch_size_count", {"service": "inventory"}) or 0
            for start in range(0, len(deliveries), 13):
                # In the app's own event loop, as the bus delivers them.
                client.portal.call(consumer.deliver_batch, deliveries[start : start + 13])
            batches = (REGISTRY.get_sample_value("pos_consumer_batch_size_count", {"service": "inventory"}) or 0) - before
            assert batches == -(-len(deliveries) // 13), "a batch fell back to one delivery at a time"
        else:
            for delivery in deliveries:
                consumer.handle(delivery)
        return state(client)


def settings_for(url: str, keys: tuple[Path, Path]) -> Settings:
    return Settings(database_url=url, jwt_public_key_file=str(keys[1]), reservation_sweep_interval=3600)


def assert_same(one: dict[str, Any], batched: dict[str, Any]) -> None:
    assert batched["levels"] == one["levels"]
    assert batched["ledger"] == one["ledger"]
    assert batched["reservations"] == one["reservations"]
    assert batched["events"] == one["events"]
    assert any(t == "LowStockDetected" for t, _ in one["events"]), "the workload crossed no reorder point"
    assert any(p["parked"] for t, p in one["events"] if t == "StockDeducted"), "the workload parked nothing"


def test_batches_deduct_what_single_events_deduct_on_sqlite(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    one = run(settings_for(f"sqlite:///{tmp_path}/one.db", keys), keys, batch=False)
    batched = run(settings_for(f"sqlite:///{tmp_path}/batched.db", keys), keys, batch=True)
    assert_same(one, batched)


@pytest.fixture
def mariadb() -> Iterator[list[str]]:
    with scratch_mariadb("pos_it_inventory_one", "pos_it_inventory_batched") as urls:
        yield urls


@pytest.mark.integration
def test_batches_deduct_what_single_events_deduct_on_mariadb(mariadb: list[str], keys: tuple[Path, Path]) -> None:
    one = run(settings_for(mariadb[0], keys), keys, batch=False)
    batched = run(settings_for(mariadb[1], keys), keys, batch=True)
    assert_same(one, batched)
