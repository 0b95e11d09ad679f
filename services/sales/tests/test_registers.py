"""Issue 14, findings 7 and 8: a sale, shift, parked cart, quote, void or refund names a
register of its own outlet (identity's, as RegisterChanged announced it), and receipt
numbers carry the register's number, so two registers of an outlet never print the
same number. Each of these was accepted before: any id, emoji, another outlet's."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pos_contracts import new_envelope
from pos_contracts.events import RegisterChanged
from pos_sales.registers import on_register_changed
from pos_sales.tables import known_registers

from .conftest import OUTLET


def _post_sale(client: TestClient, auth: Any, helpers: Any, register_id: str | None) -> Any:
    extra = {"register_id": register_id} if register_id else {}
    return client.post("/api/sales", json=helpers.sale(**extra), headers=auth())


@pytest.mark.parametrize(
    "register_id",
    ["no-such-till", "\U0001f6d2", "till-b1"],
    ids=["unknown", "emoji", "another outlet's register"],
)
def test_a_sale_on_a_register_that_is_not_the_outlets_is_refused_and_stores_nothing(
    client: TestClient, auth: Any, helpers: Any, fakes: Any, register_id: str
) -> None:
    started = time.monotonic()
    r = _post_sale(client, auth, helpers, register_id)
    assert r.status_code == 422
    assert "is not a register of outlet" in r.json()["detail"]
    if register_id != "till-b1":
        assert time.monotonic() - started >= 1.5  # it waited for an announcement that never came
    assert fakes.capture_calls == [] and helpers.outbox(client, "SaleCompleted") == []
    assert client.get("/api/sales", params={"outlet_id": OUTLET}, headers=auth("manager")).json()["items"] == []


def test_a_deactivated_register_sells_nothing_and_opens_no_shift(client: TestClient, auth: Any, helpers: Any) -> None:
    r = _post_sale(client, auth, helpers, "till-off")
    assert r.status_code == 422 and "deactivated" in r.json()["detail"] and "Old till" in r.json()["detail"]
    shift = client.post(
        "/api/sales/shifts",
        json={"id": str(uuid.uuid4()), "outlet_id": OUTLET, "register_id": "till-off", "opening_float_minor": 0},
        headers=auth(),
    )
    assert shift.status_code == 422 and "deactivated" in shift.json()["detail"]


def test_shifts_quotes_parked_carts_voids_and_refunds_name_the_outlets_registers(
    client: TestClient, auth: Any, helpers: Any, approval: Any
) -> None:
    cart = {"outlet_id": OUTLET, "register_id": "till-b1", "lines": [{"product_id": "mug", "qty": 1}]}
    assert client.post("/api/sales/quote", json=cart, headers=auth()).status_code == 422
    parked = client.post("/api/sales/parked", json={**cart, "id": str(uuid.uuid4())}, headers=auth())
    assert parked.status_code == 422
    shift = client.post(
        "/api/sales/shifts",
        json={"id": str(uuid.uuid4()), "outlet_id": OUTLET, "register_id": "till-b1", "opening_float_minor": 0},
        headers=auth(),
    )
    assert shift.status_code == 422
    void = client.post(
        "/api/sales/voids", json={**cart, "id": str(uuid.uuid4()), "reason": "customer left"}, headers=auth("manager")
    )
    assert void.status_code == 422
    sold = _post_sale(client, auth, helpers, "till-1").json()
    refund = client.post(
        f"/api/sales/{sold['sale_id']}/refunds",
        json={"id": str(uuid.uuid4()), "reason": "broken", "register_id": "till-b1"},
        headers=auth("manager"),
    )
    assert refund.status_code == 422 and "is not a register of outlet" in refund.json()["detail"]
    # The outlet's own register is fine everywhere.
    assert client.post("/api/sales/quote", json={**cart, "register_id": "till-2"}, headers=auth()).status_code == 200
    ok = client.post(
        f"/api/sales/{sold['sale_id']}/refunds",
        json={"id": str(uuid.uuid4()), "reason": "broken", "register_id": "till-2"},
        headers=auth("manager"),
    )
    assert ok.status_code == 201, ok.text


def test_registers_whose_ids_begin_alike_print_different_numbers(client: TestClient, auth: Any, helpers: Any) -> None:
    """The finding: `counter-east-1` and `counter-east-2` both printed `counter--000001`."""
    announce(client, "counter-east-1", OUTLET, 11, "East 1")
    announce(client, "counter-east-2", OUTLET, 12, "East 2")
    numbers = [
        _post_sale(client, auth, helpers, r).json()["receipt_number"]
        for r in ("counter-east-1", "counter-east-2", "counter-east-1")
    ]
    assert numbers == ["R11-000001", "R12-000001", "R11-000002"]


def test_receipt_numbers_are_unique_in_the_outlet_and_gapless_per_register(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    numbers = []
    for register_id, mode in [
        ("till-1", "capture"),
        ("till-1", "decline"),
        ("till-2", "capture"),
        ("till-1", "capture"),
        ("till-2", "capture"),
    ]:
        fakes.mode = mode
        r = client.post(
            "/api/sales",
            json=helpers.sale(tenders=[{"kind": "card", "amount_minor": 2500}], register_id=register_id),
            headers=auth(),
        )
        if r.status_code == 201:
            numbers.append(r.json()["receipt_number"])
    # The declined sale took no number: each register's sequence has no gap.
    assert numbers == ["R1-000001", "R2-000001", "R1-000002", "R2-000002"]
    listed = client.get("/api/sales", params={"outlet_id": OUTLET, "limit": 50}, headers=auth("manager")).json()["items"]
    printed = [s["receipt_number"] for s in listed if s["receipt_number"]]
    assert len(printed) == len(set(printed)) == 4


def test_a_register_made_a_moment_ago_sells_once_its_announcement_arrives(client: TestClient, auth: Any, helpers: Any) -> None:
    def later() -> None:
        time.sleep(0.5)
        announce(client, "brand-new", OUTLET, 20, "New till")

    thread = threading.Thread(target=later)
    thread.start()
    r = _post_sale(client, auth, helpers, "brand-new")
    thread.join()
    assert r.status_code == 201, r.text
    assert r.json()["receipt_number"] == "R20-000001" and r.json()["register_name"] == "New till"


def test_register_changes_apply_newest_first_whatever_order_they_arrive_in(client: TestClient) -> None:
    db = client.app.state.ctx.db
    newer = new_envelope(
        RegisterChanged(register_id="r-x", outlet_id=OUTLET, number=30, name="Renamed", active=False), producer="identity"
    )
    older = new_envelope(
        RegisterChanged(register_id="r-x", outlet_id=OUTLET, number=30, name="First", active=True), producer="identity"
    )
    older = older.model_copy(update={"occurred_at": newer.occurred_at.replace(year=newer.occurred_at.year - 1)})
    for envelope in (newer, older):
        with db.transaction() as uow:
            on_register_changed(uow, RegisterChanged.model_validate(envelope.payload), envelope)
    with db.transaction() as uow:
        row = uow.session.execute(select(known_registers).where(known_registers.c.register_id == "r-x")).one()
    assert (row.name, row.active) == ("Renamed", False)


def announce(client: TestClient, register_id: str, outlet_id: str, number: int, name: str, active: bool = True) -> None:
    """As the consumer applies identity's RegisterChanged."""
    envelope = new_envelope(
        RegisterChanged(register_id=register_id, outlet_id=outlet_id, number=number, name=name, active=active),
        producer="identity",
    )
    with client.app.state.ctx.db.transaction() as uow:
        on_register_changed(uow, RegisterChanged.model_validate(envelope.payload), envelope)


def test_an_admin_sells_and_sets_up_only_at_outlets_that_exist(client: TestClient, auth: Any, helpers: Any) -> None:
    """An admin's token names no outlets: sales asks its outlets replica (a cashier's or
    manager's token lists theirs, signed by identity)."""
    admin = auth("admin", outlets=[])
    nowhere = {**helpers.sale(), "outlet_id": "no-such-outlet"}
    refused = client.post("/api/sales", json=nowhere, headers=admin)
    assert refused.status_code == 404 and "no-such-outlet" in refused.json()["detail"]
    settings = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=admin).json()
    assert client.put("/api/sales/outlets/no-such-outlet/settings", json=settings, headers=admin).status_code == 404
    shift = {"id": str(uuid.uuid4()), "outlet_id": "no-such-outlet", "register_id": "till-1", "opening_float_minor": 0}
    assert client.post("/api/sales/shifts", json=shift, headers=admin).status_code == 404
    assert client.post("/api/sales", json=helpers.sale(), headers=admin).status_code == 201
