"""The audit chain on the local stack through the gateway (ADR 0041, ADR 0043): a refund
(sales), a price change (catalog) and a stock adjustment (inventory) reach identity's
hash chain as AuditRecorded events, in the order they were made, each with its producer;
the chain verifies, from the API and from `python -m pos_identity.audit verify`; an
entry edited directly in MariaDB breaks it, and verify names that entry."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.test_checkout_helpers import ROOT, Shop, checkout_stack, eventually, make_shop  # noqa: F401 (fixture)
from tests.stack_fixture import Stack, stack_args

pytestmark = pytest.mark.e2e


def identity_database_url() -> str:
    args = stack_args()
    return f"mysql+pymysql://root@127.0.0.1:3306/{args[args.index('--db-prefix') + 1]}identity"


def verify_cli() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pos_identity.audit", "verify", "--database-url", identity_database_url()],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def entry(admin: httpx.Client, service: str, target_id: str) -> dict[str, Any]:
    """The chain's entry from `service` about `target_id`, once identity has appended it."""

    def found() -> dict[str, Any] | None:
        entries = (
            admin.get("/api/identity/audit", params={"service": service, "target_id": target_id})
            .raise_for_status()
            .json()["entries"]
        )
        assert len(entries) <= 1, entries  # appended once
        return entries[0] if entries else None

    return eventually(found, f"{service}'s audit entry for {target_id}", timeout=30)


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Shop:  # noqa: F811
    shop = make_shop(checkout_stack)
    shop.add_product("kettle", 3900, 10)
    return shop


def test_refund_price_change_and_adjustment_are_chained_verified_and_tampering_is_named(shop: Shop) -> None:
    admin = shop.admin
    kettle = shop.products["kettle"]

    # a plain cash sale: no audit entry
    sale = shop.sale([("kettle", 2)], [{"kind": "cash", "amount_minor": 7800}])
    sold = shop.cashier.post("/api/sales", json=sale)
    assert sold.status_code == 201, sold.text
    eventually(lambda: shop.ledger(sale["id"]), "the sale's deduction")

    # 1. a refund, approved by the manager's PIN
    refund_id = str(uuid.uuid4())
    refunded = shop.cashier.post(
        f"/api/sales/{sale['id']}/refunds",
        json={"id": refund_id, "reason": "returned unopened", "lines": [{"line_no": 1, "qty": 1, "restock": True}]},
        headers={"X-Approval-Token": shop.approval("refund", sale["id"])},
    )
    assert refunded.status_code == 201, refunded.text
    refund = entry(admin, "sales", refund_id)

    # 2. a price change
    changed = admin.put(f"/api/catalog/products/{kettle['id']}", json={"price_minor": 4200})
    assert changed.status_code == 200, changed.text
    price = entry(admin, "catalog", kettle["id"])

    # 3. a stock adjustment
    adjusted = admin.post(
        "/api/inventory/adjustments",
        json={
            "outlet_id": shop.outlet["id"],
            "reason": "damage",
            "note": "dropped",
            "lines": [{"product_id": kettle["id"], "delta": -2}],
        },
    )
    assert adjusted.status_code == 201, adjusted.text
    stock = entry(admin, "inventory", kettle["id"])

    # in the chain in the order they were made, each with who, where and the figures
    assert refund["seq"] < price["seq"] < stock["seq"]
    assert (refund["action"], refund["actor_id"], refund["outlet_id"]) == ("sale.refunded", shop.cashier_id, shop.outlet["id"])
    assert (refund["details"]["approved_by"], refund["details"]["total_minor"], refund["details"]["sale_id"]) == (
        shop.manager_id,
        3900,
        sale["id"],
    )
    assert (price["action"], price["details"]["before"], price["details"]["after"]) == (
        "product.price_changed",
        {"price_minor": 3900},
        {"price_minor": 4200},
    )
    assert price["actor_role"] == "admin"
    assert (stock["action"], stock["outlet_id"], stock["details"]["delta"], stock["details"]["reason"]) == (
        "stock.adjusted",
        shop.outlet["id"],
        -2,
        "damage",
    )
    assert stock["details"]["on_hand_after"] == stock["details"]["on_hand_before"] - 2
    # the sale itself wrote nothing to the chain (identity's own entry about it is the
    # manager's approval of its refund)
    about_sale = admin.get("/api/identity/audit", params={"target_id": sale["id"]}).json()["entries"]
    assert [(e["service"], e["action"]) for e in about_sale] == [("identity", "approval")]

    # the export of today holds the three, in order
    exported = admin.get("/api/identity/audit/export", params={"since": refund["at"][:10]})
    assert exported.status_code == 200, exported.text
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [e["seq"] for e in lines if e["seq"] in (refund["seq"], price["seq"], stock["seq"])] == [
        refund["seq"],
        price["seq"],
        stock["seq"],
    ]

    # the whole chain verifies, through the API and from the command line
    assert admin.get("/api/identity/audit/verify").json()["ok"] is True
    ok = verify_cli()
    assert ok.returncode == 0 and "audit chain OK" in ok.stdout, ok.stdout + ok.stderr

    # someone with the database's keys edits the refund's amount
    engine = create_engine(identity_database_url())
    try:
        with engine.begin() as conn:
            original = conn.execute(text("SELECT details FROM audit_log WHERE seq = :s"), {"s": refund["seq"]}).scalar_one()
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(
                text("UPDATE audit_log SET details = JSON_SET(details, '$.total_minor', 100) WHERE seq = :s"),
                {"s": refund["seq"]},
            )
        broken = verify_cli()
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert (
            f"audit chain BROKEN at seq {refund['seq']} [seq {refund['seq']} sales sale.refunded refund {refund_id}"
            in broken.stdout
        )
        assert "contents changed since it was written" in broken.stdout
        seen = admin.get("/api/identity/audit/verify").json()
        assert (seen["ok"], seen["broken_seq"]) == (False, refund["seq"]) and refund_id in seen["record"]
    finally:
        # put it back as it was (the hash covers the contents: the chain holds again)
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("UPDATE audit_log SET details = :d WHERE seq = :s"), {"d": original, "s": refund["seq"]})
            conn.execute(
                text(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'"
                )
            )
        engine.dispose()
    assert verify_cli().returncode == 0
