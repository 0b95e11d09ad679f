"""What inventory reports to identity's audit chain (ADR 0043): a manual adjustment (one
entry per product moved), a quantity set by hand, and a posted stock count, each as an
AuditRecorded in the outbox of the movement's transaction. Goods received and sales'
deductions are not audited; an adjustment refused moves nothing and reports nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from pos_contracts.events import AuditRecorded
from pos_platform.consumer import EventConsumer

from .conftest import A, Auth, envelope, outbox, receive, sale


def _audits(client: TestClient) -> list[AuditRecorded]:
    return [AuditRecorded.model_validate(p) for p in outbox(client, "AuditRecorded")]


def test_receipts_and_sales_are_not_audited(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    receive(client, auth, "p1", 10)
    consumer.handle(envelope(sale([("p1", 2)]), A))
    assert _audits(client) == []


def test_an_adjustment_is_audited_per_product_with_before_and_after(client: TestClient, auth: Auth) -> None:
    receive(client, auth, "p1", 10)
    receive(client, auth, "p2", 4)
    body: dict[str, Any] = {
        "outlet_id": A,
        "reason": "damage",
        "note": "dropped a crate",
        "reference": "INC-7",
        "lines": [{"product_id": "p1", "delta": -3}, {"product_id": "p2", "delta": -1}, {"product_id": "p1", "delta": -1}],
    }
    made = client.post("/api/inventory/adjustments", json=body, headers=auth(user_id="manager-7"))
    assert made.status_code == 201, made.text
    audits = _audits(client)
    assert [(a.action, a.actor_id, a.actor_role, a.target_type, a.target_id, a.outlet_id) for a in audits] == [
        ("stock.adjusted", "manager-7", "manager", "product", "p1", A),
        ("stock.adjusted", "manager-7", "manager", "product", "p2", A),
    ]
    assert audits[0].details == {
        "delta": -4,
        "on_hand_before": 10,
        "on_hand_after": 6,
        "reason": "damage",
        "note": "dropped a crate",
        "reference": "INC-7",
    }
    refused = client.post(
        "/api/inventory/adjustments",
        json={"outlet_id": A, "reason": "theft", "lines": [{"product_id": "p2", "delta": -9}]},
        headers=auth(),
    )
    assert refused.status_code == 409
    assert len(_audits(client)) == 2  # nothing moved, nothing reported


def test_a_quantity_set_by_hand_is_audited_when_it_moves_stock(client: TestClient, auth: Auth) -> None:
    receive(client, auth, "p1", 10)
    assert (
        client.put("/api/inventory", json={"outlet_id": A, "product_id": "p1", "reorder_point": 3}, headers=auth()).status_code
        == 200
    )
    assert (
        client.put(
            "/api/inventory", json={"outlet_id": A, "product_id": "p1", "on_hand": 10, "reason": "count"}, headers=auth()
        ).status_code
        == 200
    )
    assert _audits(client) == []  # no quantity moved
    assert (
        client.put(
            "/api/inventory", json={"outlet_id": A, "product_id": "p1", "on_hand": 7, "reason": "expiry"}, headers=auth()
        ).status_code
        == 200
    )
    [audit] = _audits(client)
    assert (
        audit.action,
        audit.target_id,
        audit.details["delta"],
        audit.details["on_hand_before"],
        audit.details["on_hand_after"],
        audit.details["reason"],
    ) == (
        "stock.adjusted",
        "p1",
        -3,
        10,
        7,
        "expiry",
    )


def test_a_posted_count_is_audited_with_its_differences(client: TestClient, auth: Auth) -> None:
    receive(client, auth, "p1", 10)
    receive(client, auth, "p2", 5)
    count_id = client.post("/api/inventory/counts", json={"outlet_id": A, "note": "monthly"}, headers=auth()).json()["id"]
    client.put(
        f"/api/inventory/counts/{count_id}/lines",
        json={"lines": [{"product_id": "p1", "counted": 9}, {"product_id": "p2", "counted": 5}]},
        headers=auth(),
    )
    assert _audits(client) == []  # entering counts moves nothing
    assert client.post(f"/api/inventory/counts/{count_id}/post", headers=auth(user_id="manager-2")).status_code == 200
    [audit] = _audits(client)
    assert (audit.action, audit.actor_id, audit.target_type, audit.target_id, audit.outlet_id) == (
        "stock.count_posted",
        "manager-2",
        "count",
        count_id,
        A,
    )
    assert audit.details == {
        "lines_counted": 2,
        "lines_moved": 1,
        "units_delta": -1,
        "note": "monthly",
        "differences": [{"product_id": "p1", "expected": 10, "counted": 9, "delta": -1}],
    }


def test_allowing_a_product_to_be_oversold_is_audited(client: TestClient, auth: Auth) -> None:
    receive(client, auth, "p1", 1)
    for policy in ("allow", "allow", "block"):
        assert client.put("/api/inventory/products/p1/policy", json={"oversell": policy}, headers=auth()).status_code == 200
    assert [
        (a.action, a.target_id, a.details["before"]["oversell"], a.details["after"]["oversell"]) for a in _audits(client)
    ] == [
        ("stock.oversell_policy_changed", "p1", "block", "allow"),
        ("stock.oversell_policy_changed", "p1", "allow", "block"),
    ]
