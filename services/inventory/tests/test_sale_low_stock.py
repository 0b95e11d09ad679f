"""The till's "running low" note after a sale (issue 17): the sale's products at or under
their reorder point at its outlet, counted after the sale whether or not StockDeducted has
happened yet (checkout holds the stock; the deduction follows SaleCompleted)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from pos_platform.consumer import EventConsumer

from .conftest import A, Auth, B, envelope, level, product, receive, sale


def reserve(client: TestClient, auth: Auth, sale_id: str, lines: list[tuple[str, int]], outlet_id: str = A) -> None:
    response = client.post(
        "/api/inventory/reservations",
        json={"sale_id": sale_id, "outlet_id": outlet_id, "lines": [{"product_id": p, "qty": q} for p, q in lines]},
        headers=auth("cashier", [outlet_id]),
    )
    assert response.status_code == 201, response.text


def reorder_at(client: TestClient, auth: Auth, product_id: str, point: int, qty: int = 0, outlet_id: str = A) -> None:
    put = client.put(
        "/api/inventory",
        json={"outlet_id": outlet_id, "product_id": product_id, "reorder_point": point, "reorder_qty": qty},
        headers=auth("manager", [outlet_id]),
    )
    assert put.status_code == 200, put.text


def note(client: TestClient, auth: Auth, sale_id: str, outlet_id: str = A, outlets: list[str] | None = None) -> dict:
    response = client.get(f"/api/inventory/outlets/{outlet_id}/sales/{sale_id}/low-stock", headers=auth("cashier", outlets))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_sale_is_counted_before_and_after_its_deduction_alike(
    client: TestClient, auth: Auth, consumer: EventConsumer
) -> None:
    for p in ("beans", "milk", "cups"):
        product(consumer, p)
    receive(client, auth, "beans", 8)
    receive(client, auth, "milk", 20)
    receive(client, auth, "cups", 4)
    reorder_at(client, auth, "beans", 5, 12)  # 8 - 5 = 3: under
    reorder_at(client, auth, "milk", 5)  # 20 - 2 = 18: above
    # cups: no reorder point, never "low"
    event = sale([("beans", 5), ("milk", 2), ("cups", 4)])
    reserve(client, auth, event.sale_id, [("beans", 5), ("milk", 2), ("cups", 4)])

    before = note(client, auth, event.sale_id)  # held: not deducted yet
    assert before["deducted"] is False
    assert [(x["product_id"], x["left"], x["reorder_point"], x["suggested_order_qty"]) for x in before["lines"]] == [
        ("beans", 3, 5, 12)
    ]
    assert level(client, auth, "beans")["on_hand"] == 8

    assert consumer.handle(envelope(event, A)) is True  # StockDeducted
    assert level(client, auth, "beans")["on_hand"] == 3
    after = note(client, auth, event.sale_id)
    assert after["deducted"] is True
    assert after["lines"] == before["lines"]


def test_a_sale_staying_above_the_reorder_point_gives_no_lines(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "beans")
    receive(client, auth, "beans", 10)
    reorder_at(client, auth, "beans", 5)
    sold = str(uuid.uuid4())
    reserve(client, auth, sold, [("beans", 4)])  # 6 left
    assert note(client, auth, sold)["lines"] == []
    landing = str(uuid.uuid4())
    reserve(client, auth, landing, [("beans", 1)])  # exactly at the point: low
    assert [x["left"] for x in note(client, auth, landing)["lines"]] == [5]


def test_a_released_sale_took_nothing(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "beans")
    receive(client, auth, "beans", 6)
    reorder_at(client, auth, "beans", 5)
    failed = str(uuid.uuid4())
    reserve(client, auth, failed, [("beans", 3)])
    assert client.delete(f"/api/inventory/reservations/{failed}", headers=auth("cashier")).status_code == 204
    assert note(client, auth, failed) == {"sale_id": failed, "outlet_id": A, "deducted": False, "lines": []}


def test_only_the_cashiers_own_outlet_and_a_sale_of_it(client: TestClient, auth: Auth, consumer: EventConsumer) -> None:
    product(consumer, "beans")
    receive(client, auth, "beans", 6)
    sold = str(uuid.uuid4())
    reserve(client, auth, sold, [("beans", 3)])
    path = f"/api/inventory/outlets/{A}/sales/{sold}/low-stock"
    assert client.get(path, headers=auth("cashier", [B])).status_code == 404  # another outlet does not exist for them
    # another outlet's id with this sale (the cashier works at both): not this outlet's sale
    other = client.get(f"/api/inventory/outlets/{B}/sales/{sold}/low-stock", headers=auth("cashier", [A, B]))
    assert other.status_code == 404
    assert "no stock was reserved" in other.json()["detail"]
    # an offline sale (never reserved)
    assert client.get(f"/api/inventory/outlets/{A}/sales/{uuid.uuid4()}/low-stock", headers=auth("cashier")).status_code == 404
