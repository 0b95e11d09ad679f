"""A SaleCompleted naming a product inventory does not know (issue 12, finding 4): its
lines go to the exception list, never to a stock or ledger row, so a forged or
corrupted event does not pass for an oversell; the sale's known lines are deducted as
usual. When the product's ProductCreated arrives (inventory's consumer may lag behind
sales' price replica), the parked lines are deducted then, once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pos_contracts.events import ProductChanged
from pos_inventory.tables import ledger as ledger_table
from pos_inventory.tables import stock
from pos_platform.consumer import EventConsumer
from pos_platform.db import utcnow

from .conftest import A, Auth, B, audit, envelope, ledger, level, outbox, product, receive, sale


def exceptions(
    client: TestClient, auth: Auth, role: str = "manager", outlets: list[str] | None = None, **params: str
) -> list[dict]:
    response = client.get("/api/inventory/exceptions", params=params, headers=auth(role, outlets))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_sale_of_an_unknown_product_is_parked_not_sold_below_zero(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    product(consumer, "known")
    receive(client, auth, "known", 5)
    event = sale([("known", 2), ("ghost", 2)])
    assert consumer.handle(envelope(event, A)) is True

    # the known line is deducted as usual; the unknown one makes no stock and no ledger row
    assert [
        (r["product_id"], r["delta"], r["on_hand_after"], r["oversold"]) for r in ledger(client, auth, reference=event.sale_id)
    ] == [("known", -2, 3, False)]
    ghost = level(client, auth, "ghost")
    assert (ghost["on_hand"], ghost["reserved"]) == (0, 0)
    assert [x["product_id"] for x in client.get("/api/inventory", params={"outlet_id": A}, headers=auth()).json()["items"]] == [
        "known"
    ]
    assert audit(client, auth) == {"outlet_id": A, "products_checked": 1, "mismatches": [], "negative": []}

    [parked] = exceptions(client, auth)
    assert {k: v for k, v in parked.items() if k != "created_at"} == {
        "sale_id": event.sale_id,
        "outlet_id": A,
        "product_id": "ghost",
        "qty": 2,
        "reason": "unknown product: no ProductCreated for it has reached inventory; deducted when it does",
        "status": "open",
        "resolved_at": None,
    }
    assert parked["created_at"].endswith("Z")
    # StockDeducted says what was deducted and what is parked
    assert outbox(client, "StockDeducted") == [
        {
            "sale_id": event.sale_id,
            "outlet_id": A,
            "lines": [{"product_id": "known", "qty": 2, "on_hand_after": 3, "oversold": False}],
            "parked": [{"product_id": "ghost", "qty": 2}],
        }
    ]
    # the same sale again, under a new event id: nothing more
    consumer.handle(envelope(event, A))
    assert len(exceptions(client, auth)) == 1
    assert len(outbox(client, "StockDeducted")) == 1


def test_parked_lines_are_deducted_once_when_the_product_arrives(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    # two sales overtake their product's event (nothing of it can be received before: inventory
    # takes stock only of products it knows)
    first, second = sale([("late", 2)]), sale([("late", 1), ("other-late", 1)])
    consumer.handle(envelope(first, A))
    consumer.handle(envelope(second, A))
    assert level(client, auth, "late")["on_hand"] == 0
    assert sorted((x["sale_id"], x["product_id"]) for x in exceptions(client, auth, status="open")) == sorted(
        [(first.sale_id, "late"), (second.sale_id, "late"), (second.sale_id, "other-late")]
    )
    assert [e["parked"] for e in outbox(client, "StockDeducted")] == [
        [{"product_id": "late", "qty": 2}],
        [{"product_id": "late", "qty": 1}, {"product_id": "other-late", "qty": 1}],
    ]

    product(consumer, "late", "Late tea")
    assert level(client, auth, "late")["on_hand"] == -3
    rows = ledger(client, auth, product_id="late")
    assert sorted((r["reference"], r["kind"], r["delta"], r["oversold"]) for r in rows if r["kind"] == "sale") == sorted(
        [(first.sale_id, "sale", -2, True), (second.sale_id, "sale", -1, True)]
    )
    applied = outbox(client, "StockDeducted")[2:]
    by_sale = {e["sale_id"]: e for e in applied}
    assert by_sale[first.sale_id]["lines"][0]["product_id"] == "late" and by_sale[first.sale_id]["parked"] == []
    assert by_sale[second.sale_id]["parked"] == [{"product_id": "other-late", "qty": 1}]  # still waiting
    assert {(x["sale_id"], x["product_id"]) for x in exceptions(client, auth, status="applied")} == {
        (first.sale_id, "late"),
        (second.sale_id, "late"),
    }
    assert all(x["resolved_at"] for x in exceptions(client, auth, status="applied"))

    # the product's event again, or a change of it: nothing is deducted twice
    product(consumer, "late", "Late tea")
    consumer.handle(
        envelope(
            ProductChanged(product_id="late", sku="SKU-late", name="Late tea 2", price_minor=100, currency="EUR"),
            producer="catalog",
        )
    )
    assert level(client, auth, "late")["on_hand"] == -3
    assert len(outbox(client, "StockDeducted")) == 4

    # the second sale's other product arrives: it is complete, below zero (nothing was received)
    product(consumer, "other-late")
    last = outbox(client, "StockDeducted")[-1]
    assert (last["sale_id"], last["lines"], last["parked"]) == (
        second.sale_id,
        [{"product_id": "other-late", "qty": 1, "on_hand_after": -1, "oversold": True}],
        [],
    )
    assert exceptions(client, auth, status="open") == []
    assert audit(client, auth)["mismatches"] == []


def test_a_reserved_line_counts_as_known(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    """Stock of a product whose event is still on its way (a level made before inventory
    checked products: data of an earlier version), reserved at the checkout: inventory
    itself held it for the sale, so the sale deducts it at once."""
    with client.app.state.ctx.db.transaction() as uow:
        uow.session.execute(
            stock.insert().values(
                outlet_id=A,
                product_id="fresh",
                on_hand=3,
                reserved=0,
                reorder_point=0,
                reorder_qty=0,
                low_alerted=False,
                updated_at=utcnow(),
            )
        )
        uow.session.execute(
            ledger_table.insert().values(
                outlet_id=A,
                product_id="fresh",
                delta=3,
                kind="receipt",
                reason="goods received",
                on_hand_after=3,
                oversold=False,
                created_at=utcnow(),
            )
        )
    event = sale([("fresh", 2)])
    reserved = client.post(
        "/api/inventory/reservations",
        json={"sale_id": event.sale_id, "outlet_id": A, "lines": [{"product_id": "fresh", "qty": 2}]},
        headers=auth("cashier"),
    )
    assert reserved.status_code == 201, reserved.text
    consumer.handle(envelope(event, A))
    assert (level(client, auth, "fresh")["on_hand"], level(client, auth, "fresh")["reserved"]) == (1, 0)
    assert exceptions(client, auth) == []
    # and a product whose oversell policy was set before its event came is still unknown
    client.put("/api/inventory/products/placeholder/policy", json={"oversell": "allow"}, headers=auth())
    offline = sale([("placeholder", 1)])
    consumer.handle(envelope(offline, A))
    assert [x["product_id"] for x in exceptions(client, auth)] == ["placeholder"]


def test_stock_of_a_product_inventory_does_not_know_is_refused(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    """Issue 14, finding 6: a receipt or an adjustment for a random product id answered
    201 and made a level (and with a non-ASCII id poisoned the reports' consumer)."""
    for path, body in (
        ("/api/inventory/receipts", {"outlet_id": A, "lines": [{"product_id": "no-such-product", "qty": 5}]}),
        (
            "/api/inventory/adjustments",
            {"outlet_id": A, "lines": [{"product_id": "nö-such-prodüct", "delta": 5}], "reason": "correction"},
        ),
        ("/api/inventory", None),
    ):
        if body is None:
            response = client.put(path, json={"outlet_id": A, "product_id": "no-such-product", "on_hand": 5}, headers=auth())
        else:
            response = client.post(path, json=body, headers=auth())
        assert response.status_code == 422, response.text
        assert "unknown product" in response.json()["detail"]
    assert client.get("/api/inventory", params={"outlet_id": A}, headers=auth()).json()["total"] == 0
    assert ledger(client, auth) == []
    # announced by catalog: taken in
    product(consumer, "no-such-product")
    response = client.post(
        "/api/inventory/receipts", json={"outlet_id": A, "lines": [{"product_id": "no-such-product", "qty": 5}]}, headers=auth()
    )
    assert response.status_code == 201, response.text


def test_the_exception_list_is_for_managers_of_the_outlet(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    at_a, at_b = sale([("ghost-a", 1)]), sale([("ghost-b", 1)], outlet_id=B)
    consumer.handle(envelope(at_a, A))
    consumer.handle(envelope(at_b, B))
    assert client.get("/api/inventory/exceptions", headers=auth("cashier")).status_code == 403
    assert [x["sale_id"] for x in exceptions(client, auth, outlets=[A])] == [at_a.sale_id]
    assert [x["sale_id"] for x in exceptions(client, auth, outlets=[B])] == [at_b.sale_id]
    assert {x["sale_id"] for x in exceptions(client, auth, "admin", [])} == {at_a.sale_id, at_b.sale_id}
    assert [x["sale_id"] for x in exceptions(client, auth, "admin", [], outlet_id=B)] == [at_b.sale_id]
    assert client.get("/api/inventory/exceptions", params={"outlet_id": B}, headers=auth(outlets=[A])).status_code == 404
    bad = client.get("/api/inventory/exceptions", params={"status": "closed"}, headers=auth())
    assert bad.status_code == 422
    assert exceptions(client, auth, status="applied") == []
