"""Movements made by people: adjustments with reasons, stock counts, transfers between
outlets; every one a ledger row, levels always equal to the sum of the ledger."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pos_platform.consumer import EventConsumer

from .conftest import A, Auth, B, audit, envelope, ledger, level, outbox, outlet, product, receive, sale


def test_adjustments_carry_a_reason_and_never_take_more_than_is_there(client: TestClient, auth: Auth) -> None:
    receive(client, auth, "p1", 10)
    receive(client, auth, "p2", 1)
    body = {
        "outlet_id": A,
        "reason": "damage",
        "note": "dropped a crate",
        "lines": [{"product_id": "p1", "delta": -3}, {"product_id": "p2", "delta": -1}],
    }
    made = client.post("/api/inventory/adjustments", json=body, headers=auth(user_id="manager-7"))
    assert made.status_code == 201, made.text
    assert [(x["product_id"], x["on_hand"]) for x in made.json()] == [("p1", 7), ("p2", 0)]
    rows = ledger(client, auth, kind="adjustment")
    assert {(r["product_id"], r["delta"], r["reason"], r["note"], r["actor"], r["on_hand_after"]) for r in rows} == {
        ("p1", -3, "damage", "dropped a crate", "manager-7", 7),
        ("p2", -1, "damage", "dropped a crate", "manager-7", 0),
    }
    assert {(e["product_id"], e["delta"], e["reason"]) for e in outbox(client, "StockAdjusted")} >= {
        ("p1", -3, "damage"),
        ("p2", -1, "damage"),
    }
    # all or nothing: p2 has none left, so p1 is not touched either
    refused = client.post(
        "/api/inventory/adjustments",
        json={"outlet_id": A, "reason": "theft", "lines": [{"product_id": "p1", "delta": -1}, {"product_id": "p2", "delta": -1}]},
        headers=auth(),
    )
    assert refused.status_code == 409
    assert refused.json()["short"] == [{"product_id": "p2", "name": "Product p2", "requested": 1, "available": 0}]
    assert level(client, auth, "p1")["on_hand"] == 7
    bad_reason = client.post("/api/inventory/adjustments", json={**body, "reason": "lost"}, headers=auth())
    assert bad_reason.status_code == 422
    assert client.post("/api/inventory/adjustments", json=body, headers=auth("cashier")).status_code == 403
    assert client.post("/api/inventory/adjustments", json={**body, "outlet_id": B}, headers=auth()).status_code == 404
    assert audit(client, auth)["mismatches"] == []


def test_setting_a_counted_quantity_is_a_count_row(client: TestClient, auth: Auth) -> None:
    receive(client, auth, "p1", 10)
    put = client.put("/api/inventory", json={"outlet_id": A, "product_id": "p1", "on_hand": 8, "reason": "count"}, headers=auth())
    assert put.json()["on_hand"] == 8
    put = client.put(
        "/api/inventory", json={"outlet_id": A, "product_id": "p1", "on_hand": 6, "reason": "expiry"}, headers=auth()
    )
    rows = ledger(client, auth, product_id="p1")
    assert [(r["kind"], r["reason"], r["delta"]) for r in rows[:2]] == [("adjustment", "expiry", -2), ("count", "count", -2)]


def test_stock_count_posts_differences_without_undoing_sales_made_while_counting(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    product(consumer, "p1")
    receive(client, auth, "p1", 10)
    receive(client, auth, "p2", 5)
    receive(client, auth, "p3", 4)
    started = client.post("/api/inventory/counts", json={"outlet_id": A, "note": "monthly"}, headers=auth())
    assert started.status_code == 201, started.text
    count_id = started.json()["id"]
    entered = client.put(
        f"/api/inventory/counts/{count_id}/lines",
        json={
            "lines": [{"product_id": "p1", "counted": 9}, {"product_id": "p2", "counted": 5}, {"product_id": "p3", "counted": 6}]
        },
        headers=auth(),
    ).json()
    assert [(x["product_id"], x["expected"], x["counted"], x["difference"]) for x in entered["lines"]] == [
        ("p1", 10, 9, -1),
        ("p2", 5, 5, 0),
        ("p3", 4, 6, 2),
    ]
    # two p1 are sold after p1 was counted: the count must not bring them back
    consumer.handle(envelope(sale([("p1", 2)]), A))
    shown = client.get(f"/api/inventory/counts/{count_id}", headers=auth("cashier")).json()
    assert shown["lines"][0]["on_hand_now"] == 8
    posted = client.post(f"/api/inventory/counts/{count_id}/post", headers=auth())
    assert posted.status_code == 200, posted.text
    assert posted.json()["status"] == "posted"
    assert (level(client, auth, "p1")["on_hand"], level(client, auth, "p2")["on_hand"], level(client, auth, "p3")["on_hand"]) == (
        7,
        5,
        6,
    )
    rows = ledger(client, auth, reference=count_id)
    assert sorted((r["product_id"], r["kind"], r["delta"]) for r in rows) == [("p1", "count", -1), ("p3", "count", 2)]
    assert client.post(f"/api/inventory/counts/{count_id}/post", headers=auth()).status_code == 409
    assert (
        client.put(
            f"/api/inventory/counts/{count_id}/lines", json={"lines": [{"product_id": "p1", "counted": 1}]}, headers=auth()
        ).status_code
        == 409
    )
    assert [c["id"] for c in client.get("/api/inventory/counts", params={"outlet_id": A}, headers=auth()).json()] == [count_id]
    # another outlet's manager does not see it
    assert client.get(f"/api/inventory/counts/{count_id}", headers=auth(outlets=[B])).status_code == 404
    assert audit(client, auth)["mismatches"] == []


def test_transfer_created_sent_received_with_damage(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "p1", "Mugs")
    outlet(consumer, B)
    receive(client, auth, "p1", 10, A)
    receive(client, auth, "p2", 3, A)
    both = auth(outlets=[A, B])
    created = client.post(
        "/api/inventory/transfers",
        json={"from_outlet_id": A, "to_outlet_id": B, "lines": [{"product_id": "p1", "qty": 6}, {"product_id": "p2", "qty": 3}]},
        headers=auth(outlets=[A]),
    )
    assert created.status_code == 201, created.text
    transfer = created.json()
    assert transfer["status"] == "created"
    assert level(client, auth, "p1")["on_hand"] == 10  # nothing moves before sending
    # a sale reserves 5 of the 10 meanwhile: only 5 are available to send
    hold = client.post(
        "/api/inventory/reservations",
        json={"sale_id": "s-hold", "outlet_id": A, "lines": [{"product_id": "p1", "qty": 5}]},
        headers=auth("cashier"),
    )
    assert hold.status_code == 201
    short = client.post(f"/api/inventory/transfers/{transfer['id']}/send", headers=both)
    assert short.status_code == 409
    assert short.json()["short"] == [{"product_id": "p1", "name": "Mugs", "requested": 6, "available": 5}]
    client.delete("/api/inventory/reservations/s-hold", headers=auth("cashier"))
    # the destination's manager alone cannot send it (it leaves an outlet not theirs)
    assert client.post(f"/api/inventory/transfers/{transfer['id']}/send", headers=auth(outlets=[B])).status_code == 404
    sent = client.post(f"/api/inventory/transfers/{transfer['id']}/send", headers=auth(outlets=[A]))
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert (level(client, auth, "p1", A)["on_hand"], level(client, auth, "p1", B)["on_hand"]) == (4, 0)
    assert client.post(f"/api/inventory/transfers/{transfer['id']}/send", headers=both).status_code == 409
    # at the destination: 4 good and 1 damaged mugs of 6, all 3 p2
    too_many = client.post(
        f"/api/inventory/transfers/{transfer['id']}/receive",
        json={"lines": [{"product_id": "p1", "received": 6, "damaged": 1}]},
        headers=auth(outlets=[B]),
    )
    assert too_many.status_code == 422
    assert (
        client.post(f"/api/inventory/transfers/{transfer['id']}/receive", json={}, headers=auth(outlets=[A])).status_code == 404
    )
    received = client.post(
        f"/api/inventory/transfers/{transfer['id']}/receive",
        json={"lines": [{"product_id": "p1", "received": 4, "damaged": 1}]},
        headers=auth(outlets=[B], user_id="manager-b"),
    )
    assert received.status_code == 200, received.text
    lines = {x["product_id"]: x for x in received.json()["lines"]}
    assert (lines["p1"]["received"], lines["p1"]["damaged"], lines["p1"]["missing"]) == (4, 1, 1)
    assert (lines["p2"]["received"], lines["p2"]["damaged"], lines["p2"]["missing"]) == (3, 0, 0)
    assert (level(client, auth, "p1", B)["on_hand"], level(client, auth, "p2", B)["on_hand"]) == (4, 3)
    rows = ledger(client, auth, reference=transfer["id"])
    assert sorted((r["outlet_id"], r["product_id"], r["kind"], r["reason"], r["delta"]) for r in rows) == [
        (A, "p1", "transfer_out", "transfer", -6),
        (A, "p2", "transfer_out", "transfer", -3),
        (B, "p1", "adjustment", "damage", -1),
        (B, "p1", "transfer_in", "transfer", 5),
        (B, "p2", "transfer_in", "transfer", 3),
    ]
    events = outbox(client, "StockTransferred")
    assert [(e["status"], [(x["product_id"], x["qty"]) for x in e["lines"]]) for e in events] == [
        ("sent", [("p1", 6), ("p2", 3)]),
        ("received", [("p1", 4), ("p2", 3)]),
    ]
    assert [
        t["id"] for t in client.get("/api/inventory/transfers", params={"outlet_id": B}, headers=auth(outlets=[B])).json()
    ] == [transfer["id"]]
    assert audit(client, auth, A)["mismatches"] == [] and audit(client, auth, B)["mismatches"] == []


def test_a_transfer_not_sent_can_be_cancelled(client: TestClient, auth: Auth) -> None:
    product(client.app.state.ctx.consumer, "p1")
    outlet(client.app.state.ctx.consumer, B)
    created = client.post(
        "/api/inventory/transfers",
        json={"from_outlet_id": A, "to_outlet_id": B, "lines": [{"product_id": "p1", "qty": 1}]},
        headers=auth(),
    ).json()
    cancelled = client.post(f"/api/inventory/transfers/{created['id']}/cancel", headers=auth())
    assert cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/inventory/transfers/{created['id']}/send", headers=auth()).status_code == 409
    same = client.post(
        "/api/inventory/transfers",
        json={"from_outlet_id": A, "to_outlet_id": A, "lines": [{"product_id": "p1", "qty": 1}]},
        headers=auth(),
    )
    assert same.status_code == 422


def test_stock_at_an_outlet_that_does_not_exist_is_refused(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    """Issue 14: an admin (whose token names no outlets) could take stock in at any
    outlet id; now the outlet must be one identity announced."""
    product(consumer, "p1")
    admin = auth("admin", [])
    body = {"outlet_id": "no-such-outlet", "lines": [{"product_id": "p1", "qty": 5}]}
    refused = client.post("/api/inventory/receipts", json=body, headers=admin)
    assert refused.status_code == 404 and "outlet no-such-outlet not found" in refused.text
    assert client.get("/api/inventory", params={"outlet_id": "no-such-outlet"}, headers=admin).json()["total"] == 0
    outlet(consumer, "no-such-outlet")
    assert client.post("/api/inventory/receipts", json=body, headers=admin).status_code == 201
    # a manager of an outlet vouched for by identity's token needs no replica row
    assert client.post("/api/inventory/receipts", json={**body, "outlet_id": A}, headers=auth()).status_code == 201
