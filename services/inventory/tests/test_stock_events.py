"""Stock moved by events: SaleCompleted deducts exactly once, SaleRefunded restocks
once, oversell policy, low-stock announcements, ledger consistency."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from pos_platform.consumer import EventConsumer

from .conftest import A, Auth, B, audit, envelope, ledger, level, outbox, product, receive, refund, sale


def reserve(client: TestClient, auth: Auth, sale_id: str, lines: list[tuple[str, int]], outlet_id: str = A) -> tuple[int, dict]:
    response = client.post(
        "/api/inventory/reservations",
        json={"sale_id": sale_id, "outlet_id": outlet_id, "lines": [{"product_id": p, "qty": q} for p, q in lines]},
        headers=auth("cashier"),
    )
    return response.status_code, response.json()


def test_the_same_sale_completed_delivered_twice_deducts_once(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 10)
    event = sale([("p1", 3)])
    assert reserve(client, auth, event.sale_id, [("p1", 3)])[0] == 201
    assert (level(client, auth, "p1")["reserved"], level(client, auth, "p1")["available"]) == (3, 7)
    delivered = envelope(event, A)
    assert consumer.handle(delivered) is True
    # the broker delivers it again (same event id): the inbox drops it
    assert consumer.handle(delivered) is False
    # the producer publishes it again under a new event id: the sale's mark drops it
    assert consumer.handle(envelope(event, A)) is True  # processed (inbox row), but...
    after = level(client, auth, "p1")
    assert (after["on_hand"], after["reserved"], after["available"]) == (7, 0, 7)
    rows = ledger(client, auth, reference=event.sale_id)
    assert [(r["kind"], r["delta"], r["on_hand_after"], r["oversold"]) for r in rows] == [("sale", -3, 7, False)]
    assert len(outbox(client, "StockDeducted")) == 1
    assert audit(client, auth)["mismatches"] == []


def test_a_sale_without_reservation_is_deducted_and_flagged_when_it_oversells(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    """Made offline: the goods left the shop, so the sale is recorded even below zero."""
    product(consumer, "p1")
    receive(client, auth, "p1", 1)
    event = sale([("p1", 2), ("p1", 1)])  # two lines of the same product are merged
    consumer.handle(envelope(event, A))
    consumer.handle(envelope(event, A))
    rows = ledger(client, auth, reference=event.sale_id)
    assert [(r["delta"], r["on_hand_after"], r["oversold"]) for r in rows] == [(-3, -2, True)]
    deducted = outbox(client, "StockDeducted")
    assert deducted[0]["lines"] == [{"product_id": "p1", "qty": 3, "on_hand_after": -2, "oversold": True}]
    assert deducted[0]["parked"] == []
    assert audit(client, auth)["negative"] == [{"product_id": "p1", "on_hand": -2}]


def test_reservation_is_all_or_nothing_and_idempotent(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1", "Espresso cup")
    receive(client, auth, "p1", 2)
    receive(client, auth, "p2", 5)
    sale_id = str(uuid.uuid4())
    code, body = reserve(client, auth, sale_id, [("p2", 1), ("p1", 3)])
    assert code == 409
    assert body["short"] == [{"product_id": "p1", "name": "Espresso cup", "requested": 3, "available": 2}]
    assert "Espresso cup (wanted 3, 2 available)" in body["detail"]
    assert level(client, auth, "p2")["reserved"] == 0  # nothing held
    assert reserve(client, auth, sale_id, [("p2", 1), ("p1", 2)])[0] == 201
    assert reserve(client, auth, sale_id, [("p2", 1), ("p1", 2)]) == (200, {"sale_id": sale_id, "outlet_id": A, "status": "held"})
    got = client.get(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier")).json()
    assert (got["status"], got["lines"]) == ("held", [{"product_id": "p1", "qty": 2}, {"product_id": "p2", "qty": 1}])
    assert client.delete(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier")).status_code == 204
    assert client.delete(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier")).status_code == 204
    assert level(client, auth, "p1")["available"] == 2
    # another outlet's cashier sees nothing of it
    assert client.get(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier", ["outlet-b"])).status_code == 404


def test_sales_reconciler_releases_a_reservation_with_the_service_token(client: TestClient, auth: Auth) -> None:
    """A sale cancelled by sales' reconciler (no user at hand) gives its stock back at
    once, not when the reservation expires; a wrong service token is refused."""
    receive(client, auth, "p1", 3)
    sale_id = str(uuid.uuid4())
    assert reserve(client, auth, sale_id, [("p1", 3)])[0] == 201
    assert level(client, auth, "p1")["available"] == 0
    wrong = client.delete(f"/api/inventory/reservations/{sale_id}", headers={"X-POS-Service-Token": "guess"})
    assert wrong.status_code == 401
    assert level(client, auth, "p1")["available"] == 0
    token = client.app.state.ctx.settings.internal_api_token
    released = client.delete(f"/api/inventory/reservations/{sale_id}", headers={"X-POS-Service-Token": token})
    assert released.status_code == 204, released.text
    assert level(client, auth, "p1")["available"] == 3
    assert client.get(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier")).json()["status"] == "released"


def test_reservations_expire(client: TestClient, auth: Auth) -> None:
    from pos_inventory.stock import expire_reservations_once
    from pos_inventory.tables import reservations

    receive(client, auth, "p1", 4)
    sale_id = str(uuid.uuid4())
    assert reserve(client, auth, sale_id, [("p1", 4)])[0] == 201
    assert level(client, auth, "p1")["available"] == 0
    db = client.app.state.ctx.db
    with db.transaction() as uow:
        assert expire_reservations_once(uow) == 0  # not yet
        uow.session.execute(reservations.update().values(expires_at=reservations.c.created_at))
    with db.transaction() as uow:
        assert expire_reservations_once(uow) == 1
    assert level(client, auth, "p1")["available"] == 4
    assert client.get(f"/api/inventory/reservations/{sale_id}", headers=auth("cashier")).json()["status"] == "expired"


def test_oversell_policy_allow_sells_beyond_stock_and_flags_it(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 1)
    assert client.get("/api/inventory/products/p1", headers=auth("cashier")).json()["oversell"] == "block"
    assert client.put("/api/inventory/products/p1/policy", json={"oversell": "allow"}, headers=auth("cashier")).status_code == 403
    put = client.put("/api/inventory/products/p1/policy", json={"oversell": "allow"}, headers=auth())
    assert put.json()["oversell"] == "allow"
    # a later catalog event does not reset the policy
    product(consumer, "p1", "Renamed")
    assert client.get("/api/inventory/products/p1", headers=auth()).json() == {
        "product_id": "p1",
        "sku": "SKU-p1",
        "name": "Renamed",
        "active": True,
        "oversell": "allow",
    }
    event = sale([("p1", 3)])
    assert reserve(client, auth, event.sale_id, [("p1", 3)])[0] == 201
    assert level(client, auth, "p1")["available"] == -2
    consumer.handle(envelope(event, A))
    assert [(r["on_hand_after"], r["oversold"]) for r in ledger(client, auth, reference=event.sale_id)] == [(-2, True)]
    # a product never seen before can be set to allow, too
    assert (
        client.put("/api/inventory/products/p9/policy", json={"oversell": "allow"}, headers=auth()).json()["oversell"] == "allow"
    )
    assert reserve(client, auth, str(uuid.uuid4()), [("p9", 1)])[0] == 201


def test_a_product_id_longer_than_a_uuid_is_a_422_not_a_row_too_long(client: TestClient, auth: Auth) -> None:
    """Found by schemathesis on the stack: a 50-character id answered 500 (Data too long
    for column 'product_id') on MariaDB; SQLite never complains, so the bound is the check."""
    long_id = "x" * 37
    assert client.put(f"/api/inventory/products/{long_id}/policy", json={"oversell": "allow"}, headers=auth()).status_code == 422
    assert client.get(f"/api/inventory/products/{long_id}", headers=auth()).status_code == 422
    assert client.put(f"/api/inventory/products/{'x' * 36}/policy", json={"oversell": "allow"}, headers=auth()).status_code == 200


def test_low_stock_is_announced_once_per_crossing(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 10)
    put = client.put(
        "/api/inventory", json={"outlet_id": A, "product_id": "p1", "reorder_point": 5, "reorder_qty": 24}, headers=auth()
    )
    assert (put.json()["reorder_point"], put.json()["reorder_qty"], put.json()["low"]) == (5, 24, False)
    for qty in (3, 3, 1, 2):  # 7, 4 (crossed), 3, 1
        consumer.handle(envelope(sale([("p1", qty)]), A))
    announced = outbox(client, "LowStockDetected")
    assert announced == [{"outlet_id": A, "product_id": "p1", "on_hand": 4, "reorder_point": 5}]
    low = client.get(f"/api/inventory/outlets/{A}/low-stock", headers=auth("cashier")).json()
    assert [(x["product_id"], x["on_hand"], x["low"], x["suggested_order_qty"]) for x in low] == [("p1", 1, True, 24)]
    receive(client, auth, "p1", 10)  # 11: above the point again
    assert client.get(f"/api/inventory/outlets/{A}/low-stock", headers=auth()).json() == []
    consumer.handle(envelope(sale([("p1", 6)]), A))  # 5: crossed again
    assert len(outbox(client, "LowStockDetected")) == 2
    # raising the reorder point above the level announces it at once
    receive(client, auth, "p2", 3)
    client.put("/api/inventory", json={"outlet_id": A, "product_id": "p2", "reorder_point": 3}, headers=auth())
    assert outbox(client, "LowStockDetected")[-1] == {"outlet_id": A, "product_id": "p2", "on_hand": 3, "reorder_point": 3}
    assert len(outbox(client, "LowStockDetected")) == 3


def test_refunded_goods_marked_restock_go_back_once(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1")
    product(consumer, "p2")
    receive(client, auth, "p1", 5)
    receive(client, auth, "p2", 5)
    sold = sale([("p1", 2), ("p2", 2)])
    consumer.handle(envelope(sold, A))
    event = refund(sold.sale_id, [("p1", 2, True), ("p2", 1, False)])
    consumer.handle(envelope(event, A))
    consumer.handle(envelope(event, A))  # again, under a new event id
    rows = ledger(client, auth, reference=event.refund_id)
    assert [(r["product_id"], r["kind"], r["delta"], r["on_hand_after"], r["reason"]) for r in rows] == [
        ("p1", "return", 2, 5, "refund")
    ]
    assert level(client, auth, "p2")["on_hand"] == 3  # not restocked (e.g. damaged)
    returned = outbox(client, "StockReturned")
    assert returned == [
        {
            "refund_id": event.refund_id,
            "sale_id": sold.sale_id,
            "outlet_id": A,
            "lines": [{"product_id": "p1", "qty": 2, "on_hand_after": 5, "oversold": False}],
        }
    ]
    # a refund with nothing to restock moves nothing and announces nothing
    consumer.handle(envelope(refund(sold.sale_id, [("p2", 1, False)]), A))
    assert len(outbox(client, "StockReturned")) == 1
    assert audit(client, auth)["mismatches"] == []


def test_the_low_stock_summary_counts_low_and_empty_lines_at_the_callers_outlets(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    """The dashboard's tile and the office menu's badge (issue 17): one count across the
    caller's outlets, never another outlet's."""
    for product_id, outlet_id, qty, point in (
        ("p1", A, 3, 5),
        ("p2", A, 9, 5),
        ("p3", A, 1, 2),
        ("p4", B, 2, 4),
        ("p5", B, 8, 0),
    ):
        receive(client, auth, product_id, qty, outlet_id)
        put = client.put(
            "/api/inventory",
            json={"outlet_id": outlet_id, "product_id": product_id, "reorder_point": point},
            headers=auth("manager", [A, B]),
        )
        assert put.status_code == 200, put.text
    consumer.handle(envelope(sale([("p3", 1)]), A))  # p3 empty now

    both = client.get("/api/inventory/low-stock/summary", headers=auth("manager", [A, B])).json()
    assert both == {"low": 3, "out": 1, "outlets": [{"outlet_id": A, "low": 2, "out": 1}, {"outlet_id": B, "low": 1, "out": 0}]}
    only_b = client.get("/api/inventory/low-stock/summary", headers=auth("manager", [B])).json()
    assert only_b == {"low": 1, "out": 0, "outlets": [{"outlet_id": B, "low": 1, "out": 0}]}
    nowhere = client.get("/api/inventory/low-stock/summary", headers=auth("cashier", [])).json()
    assert nowhere == {"low": 0, "out": 0, "outlets": []}
    assert client.get("/api/inventory/low-stock/summary", headers=auth("admin", [])).json() == both
