"""Suppliers and purchase orders on the real MariaDB (issue 17, ADR 0071): a manager adds
a supplier, links products, drafts an order from the outlet's reorder suggestions,
edits it, mails it (real SMTP to scripts/mail_sink.py in its own process), receives
part of it and then the rest; each receipt is a ledger row and moves stock on hand.
Over-receipt, wrong states, other outlets and cashiers are refused with nothing moved."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_contracts.events import OutletCreated
from pos_inventory.app import create_app
from pos_inventory.config import Settings
from pos_platform.bus import InProcessBus
from pos_platform.mail import SmtpMailSender
from pos_platform.testing import free_port
from tests.databases import scratch_mariadb
from tests.smtp_sink import Sink, text_of

from .conftest import A, Auth, B, audit, envelope, ledger, level, outbox, product

pytestmark = pytest.mark.integration


@pytest.fixture
def client(keys: tuple[Path, Path], sink: Sink) -> Iterator[TestClient]:
    with scratch_mariadb(f"pos_it_inventory_po_{uuid.uuid4().hex[:6]}") as (url,):
        settings = Settings(
            database_url=url,
            jwt_public_key_file=str(keys[1]),
            reservation_sweep_interval=3600,
            digest_check_seconds=0,
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            smtp_tls="none",
            smtp_from="Harbour St orders <orders@shop.example>",
            smtp_attempts=2,
            smtp_backoff_seconds=0.01,
            smtp_backoff_max_seconds=0.05,
            smtp_timeout_seconds=3.0,
        )
        with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
            consumer = c.app.state.ctx.consumer
            for outlet_id, name in ((A, "Harbour St"), (B, "Mill Lane")):
                consumer.handle(envelope(OutletCreated(outlet_id=outlet_id, name=name, currency="EUR"), producer="identity"))
            for pid, name in (
                ("milk", "Oat milk 1 l"),
                ("beans", "Espresso beans"),
                ("cups", "Paper cups"),
                ("tea", "Green tea"),
            ):
                product(consumer, pid, name)
            yield c


def put_level(client: TestClient, auth: Auth, product_id: str, on_hand: int, point: int, qty: int, outlet_id: str = A) -> None:
    body = {"outlet_id": outlet_id, "product_id": product_id, "on_hand": on_hand, "reorder_point": point, "reorder_qty": qty}
    response = client.put("/api/inventory", json=body, headers=auth("manager", [outlet_id]))
    assert response.status_code == 200, response.text


def supplier(
    client: TestClient, auth: Auth, name: str = "Bean & Leaf Ltd", email: str = "orders@beanleaf.example"
) -> dict[str, Any]:
    made = client.post("/api/inventory/suppliers", json={"name": name, "email": email}, headers=auth())
    assert made.status_code == 201, made.text
    return made.json()


def link(client: TestClient, auth: Auth, supplier_id: str, *products: str) -> dict[str, Any]:
    body = {"lines": [{"product_id": p, "supplier_sku": f"BL-{p}"} for p in products]}
    linked = client.post(f"/api/inventory/suppliers/{supplier_id}/products", json=body, headers=auth())
    assert linked.status_code == 200, linked.text
    return linked.json()


def draft(client: TestClient, auth: Auth, supplier_id: str, outlet_id: str = A) -> Any:
    return client.post(
        "/api/inventory/purchase-orders",
        json={"outlet_id": outlet_id, "supplier_id": supplier_id, "from_suggestions": True},
        headers=auth("manager", [outlet_id]),
    )


def lines(order: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [(x["name"], x["qty"], x["received"], x["on_hand"]) for x in order["lines"]]


def test_a_manager_orders_from_the_suggestions_mails_it_and_receives_it_in_two_deliveries(
    client: TestClient, auth: Auth, sink: Sink
) -> None:
    put_level(client, auth, "milk", 0, 6, 12)  # low: 12 suggested
    put_level(client, auth, "beans", 3, 5, 0)  # low: 3 suggested
    put_level(client, auth, "cups", 40, 10, 100)  # not low: not on the order
    put_level(client, auth, "tea", 0, 4, 10)  # low, but another supplier's
    made = supplier(client, auth)
    linked = link(client, auth, made["id"], "milk", "beans", "cups")
    assert [p["name"] for p in linked["products"]] == ["Espresso beans", "Oat milk 1 l", "Paper cups"]
    listed = client.get("/api/inventory/suppliers", headers=auth()).json()
    assert [(s["name"], len(s["products"])) for s in listed] == [("Bean & Leaf Ltd", 3)]

    drafted = draft(client, auth, made["id"])
    assert drafted.status_code == 201, drafted.text
    order = drafted.json()
    assert order["status"] == "draft" and order["number"] == f"PO-{order['id']:06d}"
    assert (order["outlet_name"], order["supplier_name"], order["currency"]) == ("Harbour St", "Bean & Leaf Ltd", "EUR")
    assert lines(order) == [("Espresso beans", 3, 0, 3), ("Oat milk 1 l", 12, 0, 0)]

    # The manager raises the milk and sets the costs.
    edited = client.put(
        f"/api/inventory/purchase-orders/{order['id']}/lines",
        json={
            "lines": [
                {"product_id": "beans", "qty": 3, "unit_cost_minor": 1250},
                {"product_id": "milk", "qty": 20, "unit_cost_minor": 189},
            ],
            "note": "back door, before 10:00",
        },
        headers=auth(),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["total_minor"] == 3 * 1250 + 20 * 189
    csv_text = client.get(f"/api/inventory/purchase-orders/{order['id']}/csv", headers=auth())
    assert csv_text.status_code == 200
    assert csv_text.headers["content-disposition"] == f'attachment; filename="{order["number"]}.csv"'
    assert f"{order['number']},Harbour St,Bean & Leaf Ltd,Oat milk 1 l,SKU-milk,BL-milk,20,1.89,37.80,EUR" in csv_text.text
    assert "75.30,EUR" in csv_text.text  # the total row

    sent = client.post(f"/api/inventory/purchase-orders/{order['id']}/send", json={"mail": True}, headers=auth())
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["sent_to"]) == ("sent", "orders@beanleaf.example")
    (mail,) = sink.wait_for(1)
    assert mail["To"] == "orders@beanleaf.example"
    assert mail["Subject"] == f"Purchase order {order['number']} from Harbour St"
    body = text_of(mail)
    assert "Oat milk 1 l" in body and "37.80" in body and "Total: 75.30 EUR" in body and "back door" in body
    # A sent order is no longer edited, nor sent twice.
    assert (
        client.put(
            f"/api/inventory/purchase-orders/{order['id']}/lines",
            json={"lines": [{"product_id": "milk", "qty": 1}]},
            headers=auth(),
        ).status_code
        == 409
    )
    again = client.post(f"/api/inventory/purchase-orders/{order['id']}/send", json={"mail": False}, headers=auth())
    assert again.status_code == 409 and "only an order that is draft can be sent" in again.json()["detail"]

    # First delivery: 8 milk, the beans in full.
    first = client.post(
        f"/api/inventory/purchase-orders/{order['id']}/receive",
        json={"lines": [{"product_id": "milk", "qty": 8}, {"product_id": "beans", "qty": 3}]},
        headers=auth(user_id="manager-7"),
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "partially_received"
    assert lines(first.json()) == [("Espresso beans", 3, 3, 6), ("Oat milk 1 l", 20, 8, 8)]
    # More than is outstanding: refused, nothing moves.
    over = client.post(
        f"/api/inventory/purchase-orders/{order['id']}/receive",
        json={"lines": [{"product_id": "milk", "qty": 13}]},
        headers=auth(),
    )
    assert over.status_code == 422
    assert "Oat milk 1 l: 13 received now would make 21 of the 20 ordered (at most 12 still to come)" in over.json()["detail"]
    assert level(client, auth, "milk")["on_hand"] == 8
    # The rest.
    rest = client.post(
        f"/api/inventory/purchase-orders/{order['id']}/receive",
        json={"lines": [{"product_id": "milk", "qty": 12}]},
        headers=auth(),
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["status"] == "received" and rest.json()["closed_at"]
    assert level(client, auth, "milk")["on_hand"] == 20
    assert level(client, auth, "beans")["on_hand"] == 6

    moves = ledger(client, auth, reference=order["number"])
    assert sorted((m["product_id"], m["kind"], m["reason"], m["delta"], m["note"]) for m in moves) == [
        ("beans", "receipt", "purchase order", 3, "from Bean & Leaf Ltd"),
        ("milk", "receipt", "purchase order", 8, "from Bean & Leaf Ltd"),
        ("milk", "receipt", "purchase order", 12, "from Bean & Leaf Ltd"),
    ]
    assert {m["actor"] for m in moves if m["delta"] in (3, 8)} == {"manager-7"}
    assert [(e["product_id"], e["delta"], e["reason"]) for e in outbox(client, "StockAdjusted")][-3:] == [
        ("beans", 3, "receipt"),
        ("milk", 8, "receipt"),
        ("milk", 12, "receipt"),
    ]
    assert audit(client, auth)["mismatches"] == []
    # A received order takes no more.
    closed = client.post(
        f"/api/inventory/purchase-orders/{order['id']}/receive",
        json={"lines": [{"product_id": "milk", "qty": 1}]},
        headers=auth(),
    )
    assert closed.status_code == 409

    # The next draft starts from the costs this supplier charged.
    put_level(client, auth, "milk", 2, 6, 12)
    again_drafted = draft(client, auth, made["id"]).json()
    assert [(x["name"], x["qty"], x["unit_cost_minor"]) for x in again_drafted["lines"]] == [("Oat milk 1 l", 12, 189)]


def test_bad_input_is_refused_in_words_and_nothing_is_written(client: TestClient, auth: Auth) -> None:
    made = supplier(client, auth, email="")
    duplicate = client.post("/api/inventory/suppliers", json={"name": "Bean & Leaf Ltd"}, headers=auth())
    assert duplicate.status_code == 409 and "already a supplier named" in duplicate.json()["detail"]
    bad_mail = client.post("/api/inventory/suppliers", json={"name": "X", "email": "not an address"}, headers=auth())
    assert bad_mail.status_code == 422
    unknown = client.post(
        f"/api/inventory/suppliers/{made['id']}/products", json={"lines": [{"product_id": "ghost"}]}, headers=auth()
    )
    assert unknown.status_code == 422 and "ghost" in unknown.json()["detail"]
    link(client, auth, made["id"], "milk")
    # Nothing low of this supplier's.
    put_level(client, auth, "milk", 30, 6, 12)
    nothing = draft(client, auth, made["id"])
    assert nothing.status_code == 422 and "nothing to reorder from Bean & Leaf Ltd" in nothing.json()["detail"]
    # A line the supplier does not supply.
    foreign = client.post(
        "/api/inventory/purchase-orders",
        json={"outlet_id": A, "supplier_id": made["id"], "lines": [{"product_id": "tea", "qty": 2}]},
        headers=auth(),
    )
    assert foreign.status_code == 422 and "not supplied by this supplier: Green tea" in foreign.json()["detail"]
    for bad in (
        {"product_id": "milk", "qty": 0},
        {"product_id": "milk", "qty": 2.5},
        {"product_id": "milk", "qty": 1, "unit_cost_minor": -1},
    ):
        refused = client.post(
            "/api/inventory/purchase-orders", json={"outlet_id": A, "supplier_id": made["id"], "lines": [bad]}, headers=auth()
        )
        assert refused.status_code == 422, bad
    order = client.post(
        "/api/inventory/purchase-orders",
        json={"outlet_id": A, "supplier_id": made["id"], "lines": [{"product_id": "milk", "qty": 5, "unit_cost_minor": 100}]},
        headers=auth(),
    ).json()
    # Receiving a draft, mailing to a supplier without an address.
    draft_receipt = client.post(
        f"/api/inventory/purchase-orders/{order['id']}/receive",
        json={"lines": [{"product_id": "milk", "qty": 1}]},
        headers=auth(),
    )
    assert draft_receipt.status_code == 409 and "is draft" in draft_receipt.json()["detail"]
    no_address = client.post(f"/api/inventory/purchase-orders/{order['id']}/send", json={"mail": True}, headers=auth())
    assert no_address.status_code == 422 and "has no e-mail address" in no_address.json()["detail"]
    # With an address but the mail server down: 503, and the order stays a draft.
    renamed = client.put(
        f"/api/inventory/suppliers/{made['id']}", json={"name": made["name"], "email": "orders@beanleaf.example"}, headers=auth()
    )
    assert renamed.status_code == 200 and renamed.json()["email"] == "orders@beanleaf.example"
    working = client.app.state.po_sender
    down = working.settings.model_copy(update={"smtp_port": free_port()})
    client.app.state.po_sender = SmtpMailSender(down)
    try:
        failed = client.post(f"/api/inventory/purchase-orders/{order['id']}/send", json={"mail": True}, headers=auth())
    finally:
        client.app.state.po_sender = working
    assert failed.status_code == 503 and "was not sent" in failed.json()["detail"], failed.text
    assert client.get(f"/api/inventory/purchase-orders/{order['id']}", headers=auth()).json()["status"] == "draft"
    # Sent without a mail (the CSV went by hand), then cancelled before anything came.
    marked = client.post(f"/api/inventory/purchase-orders/{order['id']}/send", json={"mail": False}, headers=auth())
    assert marked.status_code == 200 and marked.json()["sent_to"] == ""
    for body in ({"lines": [{"product_id": "tea", "qty": 1}]}, {"lines": [{"product_id": "milk", "qty": 0}]}):
        assert client.post(f"/api/inventory/purchase-orders/{order['id']}/receive", json=body, headers=auth()).status_code == 422
    cancelled = client.post(f"/api/inventory/purchase-orders/{order['id']}/cancel", headers=auth())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert level(client, auth, "milk")["on_hand"] == 30
    assert ledger(client, auth, reference=order["number"]) == []


def test_managers_see_their_outlets_orders_only_and_cashiers_none(client: TestClient, auth: Auth) -> None:
    made = supplier(client, auth)
    link(client, auth, made["id"], "milk")
    put_level(client, auth, "milk", 0, 6, 12, outlet_id=B)
    order = draft(client, auth, made["id"], outlet_id=B).json()
    path = f"/api/inventory/purchase-orders/{order['id']}"
    other = auth("manager", [A])
    assert client.get(path, headers=other).status_code == 404
    assert client.post(f"{path}/send", json={"mail": False}, headers=other).status_code == 404
    assert client.get("/api/inventory/purchase-orders", headers=other).json() == []
    assert draft(client, lambda *a, **k: auth("manager", [A]), made["id"], outlet_id=B).status_code == 404
    cashier = auth("cashier", [B])
    assert client.get(path, headers=cashier).status_code == 403
    assert client.get("/api/inventory/suppliers", headers=cashier).status_code == 403
    assert client.post("/api/inventory/suppliers", json={"name": "Sneaky"}, headers=cashier).status_code == 403
    admin = auth("admin", [])
    assert [o["number"] for o in client.get("/api/inventory/purchase-orders", headers=admin).json()] == [order["number"]]
    # Partly received, then closed short: the rest is not coming.
    client.post(f"{path}/send", json={"mail": False}, headers=admin)
    part = client.post(f"{path}/receive", json={"lines": [{"product_id": "milk", "qty": 5}]}, headers=auth("manager", [B]))
    assert part.json()["status"] == "partially_received"
    assert client.post(f"{path}/cancel", headers=admin).status_code == 409
    closed = client.post(f"{path}/close", headers=admin)
    assert closed.status_code == 200 and closed.json()["status"] == "received"
    assert [(x["qty"], x["received"], x["outstanding"]) for x in closed.json()["lines"]] == [(12, 5, 7)]
