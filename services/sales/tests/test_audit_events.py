"""What sales reports to identity's audit chain (ADR 0043): a refund, a void, a discount
a manager approved above the threshold and a change to an outlet's settings each put one
AuditRecorded in the outbox, in the transaction of the action; a plain sale puts none."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from pos_contracts.events import AuditRecorded
from services.sales.tests.conftest import OUTLET


def _audits(client: TestClient, helpers: Any) -> list[dict[str, Any]]:
    return helpers.outbox(client, "AuditRecorded")


def test_a_plain_sale_publishes_no_audit_event(client: TestClient, auth: Any, helpers: Any) -> None:
    for tenders in ([{"kind": "cash", "amount_minor": 5000}], [{"kind": "card", "amount_minor": 2500}]):
        r = client.post("/api/sales", json=helpers.sale(tenders=tenders), headers=auth())
        assert r.status_code == 201, r.text
    # a small discount, within the threshold, needs no manager and is not audited either
    small = client.post("/api/sales", json=helpers.sale(discount={"kind": "percent", "value": 500}), headers=auth())
    assert small.status_code == 201, small.text
    assert len(helpers.outbox(client, "SaleCompleted")) == 3
    assert _audits(client, helpers) == []


def test_a_refund_is_audited_with_its_figures_and_approver(client: TestClient, auth: Any, helpers: Any, approval: Any) -> None:
    receipt = client.post("/api/sales", json=helpers.sale([("mug", 2), ("tea", 1)]), headers=auth()).json()
    refund_id = str(uuid.uuid4())
    r = client.post(
        f"/api/sales/{receipt['sale_id']}/refunds",
        json={"id": refund_id, "reason": "broken", "lines": [{"line_no": 1, "qty": 1, "restock": True}]},
        headers={**auth(), "X-Approval-Token": approval("refund", receipt["sale_id"])},
    )
    assert r.status_code == 201, r.text
    [event] = _audits(client, helpers)
    assert (event["producer"], event["outlet_id"]) == ("sales", OUTLET)
    audit = AuditRecorded.model_validate(event["payload"])
    assert (audit.action, audit.actor_id, audit.target_type, audit.target_id, audit.outlet_id) == (
        "sale.refunded",
        "cashier-1",
        "refund",
        refund_id,
        OUTLET,
    )
    d = audit.details
    assert (d["sale_id"], d["approved_by"], d["total_minor"], d["currency"], d["reason"]) == (
        receipt["sale_id"],
        "boss",
        1250,
        "EUR",
        "broken",
    )
    assert d["receipt_number"] == receipt["receipt_number"]
    assert d["lines"] == [{"line_no": 1, "product_id": "mug", "qty": 1, "total_minor": 1250, "restock": True}]
    assert d["tenders"] == [{"kind": "cash", "amount_minor": 1250}]
    # a retry of the same refund is answered from the store: no second entry
    again = client.post(
        f"/api/sales/{receipt['sale_id']}/refunds",
        json={"id": refund_id, "reason": "broken", "lines": [{"line_no": 1, "qty": 1, "restock": True}]},
        headers=auth("manager"),
    )
    assert again.status_code == 201
    assert len(_audits(client, helpers)) == 1


def test_a_refused_refund_is_not_audited(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = client.post("/api/sales", json=helpers.sale(), headers=auth()).json()
    r = client.post(f"/api/sales/{receipt['sale_id']}/refunds", json={"id": str(uuid.uuid4()), "reason": "x"}, headers=auth())
    assert r.status_code == 403
    assert _audits(client, helpers) == []


def test_a_void_is_audited(client: TestClient, auth: Any, helpers: Any, approval: Any) -> None:
    cart_id = str(uuid.uuid4())
    void = {
        "id": cart_id,
        "outlet_id": OUTLET,
        "register_id": "till-1",
        "lines": [{"product_id": "mug", "qty": 1}],
        "reason": "customer left",
    }
    done = client.post("/api/sales/voids", json=void, headers={**auth(), "X-Approval-Token": approval("void", cart_id)})
    assert done.status_code == 201, done.text
    assert client.post("/api/sales/voids", json=void, headers=auth("manager")).status_code == 201  # the same void again
    [event] = _audits(client, helpers)
    audit = AuditRecorded.model_validate(event["payload"])
    assert (audit.action, audit.actor_id, audit.actor_role, audit.target_id) == ("sale.voided", "cashier-1", "cashier", cart_id)
    assert audit.source_ip == "testclient"
    assert (audit.details["approved_by"], audit.details["total_minor"], audit.details["reason"]) == (
        "boss",
        1250,
        "customer left",
    )


def test_a_discount_above_the_threshold_is_audited_once_the_sale_completes(
    client: TestClient, auth: Any, helpers: Any, approval: Any
) -> None:
    body = helpers.sale(discount={"kind": "percent", "value": 5000})
    assert client.post("/api/sales", json=body, headers=auth()).status_code == 403
    assert _audits(client, helpers) == []  # refused: nothing given, nothing audited
    approved = client.post("/api/sales", json=body, headers={**auth(), "X-Approval-Token": approval("discount", body["id"])})
    assert approved.status_code == 201, approved.text
    [event] = _audits(client, helpers)
    audit = AuditRecorded.model_validate(event["payload"])
    assert (audit.action, audit.actor_id, audit.target_type, audit.target_id) == (
        "sale.discount_approved",
        "cashier-1",
        "sale",
        body["id"],
    )
    d = audit.details
    assert (d["approved_by"], d["discount_minor"], d["total_minor"], d["receipt_number"]) == (
        "boss",
        1250,
        1250,
        approved.json()["receipt_number"],
    )
    assert d["cart_discount"]["kind"] == "percent" and d["cart_discount"]["value"] == 5000


def test_an_outlet_settings_change_is_audited_with_before_and_after(client: TestClient, auth: Any, helpers: Any) -> None:
    settings = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    changed = {**settings, "discount_approval_bp": settings["discount_approval_bp"] + 1000}
    assert client.put(f"/api/sales/outlets/{OUTLET}/settings", json=changed, headers=auth("manager")).status_code == 200
    assert (
        client.put(f"/api/sales/outlets/{OUTLET}/settings", json=changed, headers=auth("manager")).status_code == 200
    )  # no change
    [event] = _audits(client, helpers)
    audit = AuditRecorded.model_validate(event["payload"])
    assert (audit.action, audit.actor_id, audit.actor_role, audit.target_id) == (
        "outlet.settings_changed",
        "manager-1",
        "manager",
        OUTLET,
    )
    assert audit.details == {
        "before": {"discount_approval_bp": settings["discount_approval_bp"]},
        "after": {"discount_approval_bp": settings["discount_approval_bp"] + 1000},
    }
