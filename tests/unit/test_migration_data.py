"""Migrations that change existing data (issue 14, findings 7 and 8): a deployment with
registers and sales made before register numbers existed comes out with numbered
registers announced to the replicas, and its receipt numbers unique per outlet from then
on, the ones already printed twice kept and marked, not rewritten."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pos_platform.migrate import upgrade


def test_identity_numbers_existing_registers_and_announces_outlets_and_registers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    upgrade("identity", url, "0003")
    engine = sa.create_engine(url)
    t = datetime(2026, 1, 1)
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO outlets (id, name, currency, timezone, created_at) VALUES ('a', 'Alpha', 'EUR', 'Europe/Paris', :t), ('b', 'Beta', 'EUR', 'UTC', :t)"
            ),
            {"t": t},
        )
        c.execute(
            sa.text(
                "INSERT INTO registers (id, outlet_id, name, active, created_at) VALUES "
                "('counter-east-2', 'a', 'East 2', 1, :t2), ('counter-east-1', 'a', 'East 1', 1, :t1), ('b-till', 'b', 'Till', 0, :t1)"
            ),
            {"t1": t, "t2": t.replace(hour=1)},
        )
    upgrade("identity", url)
    with engine.begin() as c:
        numbers = dict(c.execute(sa.text("SELECT id, number FROM registers")).all())
        bodies = [json.loads(b) for b in c.execute(sa.text("SELECT body FROM outbox ORDER BY id")).scalars()]
    # In the order they were made, per outlet.
    assert numbers == {"counter-east-1": 1, "counter-east-2": 2, "b-till": 1}
    announced = {(e["type"], e["payload"].get("register_id") or e["payload"]["outlet_id"]): e["payload"] for e in bodies}
    assert set(announced) == {
        ("OutletCreated", "a"),
        ("OutletCreated", "b"),
        ("RegisterChanged", "counter-east-1"),
        ("RegisterChanged", "counter-east-2"),
        ("RegisterChanged", "b-till"),
    }
    assert announced[("RegisterChanged", "b-till")] == {
        "register_id": "b-till",
        "outlet_id": "b",
        "number": 1,
        "name": "Till",
        "active": False,
    }
    assert announced[("OutletCreated", "a")]["timezone"] == "Europe/Paris"
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(
            sa.text("INSERT INTO registers (id, outlet_id, name, number, active, created_at) VALUES ('x', 'a', 'X', 2, 1, :t)"),
            {"t": t},
        )
    engine.dispose()


def test_sales_keeps_receipt_numbers_printed_twice_and_makes_new_ones_unique(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sales.db'}"
    upgrade("sales", url, "0006")
    engine = sa.create_engine(url)
    insert = sa.text(
        "INSERT INTO sales (id, outlet_id, register_id, cashier_id, request_hash, status, fulfilment, oversold, receipt_number, currency, "
        "total_minor, created_at, completed_at) VALUES (:id, :outlet, :register, 'c', 'h', 'COMPLETED', 'fulfilled', 0, :number, 'EUR', 100, :t, :t)"
    )
    rows = [
        ("s1", "a", "counter-east-1", "counter--000001", datetime(2026, 1, 1, 9)),
        ("s2", "a", "counter-east-2", "counter--000001", datetime(2026, 1, 1, 10)),
        ("s3", "a", "counter-east-2", "counter--000002", datetime(2026, 1, 1, 11)),
        ("s4", "b", "counter-east-9", "counter--000001", datetime(2026, 1, 1, 9)),  # another outlet: not a repeat
    ]
    with engine.begin() as c:
        for sale_id, outlet, register, number, t in rows:
            c.execute(insert, {"id": sale_id, "outlet": outlet, "register": register, "number": number, "t": t})
    upgrade("sales", url)
    with engine.begin() as c:
        marks = dict(c.execute(sa.text("SELECT id, receipt_duplicate FROM sales")).all())
        printed = dict(c.execute(sa.text("SELECT id, receipt_number FROM sales")).all())
    assert marks == {"s1": 0, "s2": 1, "s3": 0, "s4": 0}
    assert printed == {r[0]: r[3] for r in rows}  # nothing printed is rewritten
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(insert, {"id": "s5", "outlet": "a", "register": "r", "number": "counter--000002", "t": datetime(2026, 1, 2)})
    engine.dispose()
