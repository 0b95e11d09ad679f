"""What sales publishes for the read models: discounts and the register on SaleCompleted
and SaleRefunded, and the same events regenerated from the tables (GET /api/sales/history)
for a rebuild after the outbox is pruned."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from pos_contracts.events import SaleCompleted, SaleRefunded
from pos_sales.history import stable_event_id
from services.sales.tests.conftest import OUTLET

BUSINESS_ID = {"SaleCompleted": "sale_id", "SaleRefunded": "refund_id", "SaleVoided": "sale_id", "ShiftClosed": "shift_id"}


def _key(event: dict[str, Any]) -> tuple[str, str]:
    return event["type"], event["payload"][BUSINESS_ID[event["type"]]]


def _sale(client: TestClient, auth: Any, helpers: Any, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/sales", json=helpers.sale(**extra), headers=auth())
    assert r.status_code == 201, r.text
    return r.json()


def test_sale_completed_and_refunded_carry_discounts_and_the_register(client: TestClient, auth: Any, helpers: Any) -> None:
    body = helpers.sale(
        [("mug", 2), ("tea", 1)],
        [{"kind": "cash", "amount_minor": 5000}],
        register_id="till-7",
        discount={"kind": "amount", "value": 100},
    )
    body["lines"][0]["discount"] = {"kind": "percent", "value": 1000}  # 10 % of 2 x 12.50 = 2.50
    receipt = client.post("/api/sales", json=body, headers=auth()).json()
    [event] = helpers.outbox(client, "SaleCompleted")
    payload = event["payload"]
    assert (
        (payload["register_id"], payload["discount_minor"])
        == ("till-7", 350)
        == (receipt["register_id"], receipt["discount_minor"])
    )
    lines = [(ln["line_no"], ln["gross_minor"], ln["discount_minor"], ln["total_minor"]) for ln in payload["lines"]]
    # line 1: 250 of its own + its share of the 100 off the cart (2250 of 2649 left): 85; line 2: 15
    assert lines == [(1, 2500, 335, 2165), (2, 399, 15, 384)]
    assert payload["discount_minor"] == sum(ln["discount_minor"] for ln in payload["lines"])
    assert SaleCompleted.model_validate(payload).lines[0].discount_minor == 335

    r = client.post(
        f"/api/sales/{receipt['sale_id']}/refunds",
        json={"id": str(uuid.uuid4()), "reason": "broken", "register_id": "till-8", "lines": [{"line_no": 2, "qty": 1}]},
        headers=auth("manager"),
    )
    assert r.status_code == 201, r.text
    [refunded] = helpers.outbox(client, "SaleRefunded")
    assert refunded["payload"]["register_id"] == "till-8"
    assert SaleRefunded.model_validate(refunded["payload"]).total_minor == 384


def test_old_events_without_the_new_fields_are_still_valid() -> None:
    line = {
        "line_no": 1,
        "product_id": "p",
        "sku": "P",
        "name": "P",
        "qty": 1,
        "unit_price_minor": 100,
        "tax_rate_bp": 0,
        "tax_minor": 0,
        "total_minor": 100,
    }
    old = SaleCompleted.model_validate(
        {
            "sale_id": "s",
            "outlet_id": "o",
            "cashier_id": "c",
            "receipt_number": "R1",
            "currency": "EUR",
            "lines": [line],
            "subtotal_minor": 100,
            "tax_minor": 0,
            "total_minor": 100,
            "tenders": [{"kind": "cash", "amount_minor": 100}],
            "completed_at": "2026-03-01T10:00:00Z",
        }
    )
    assert (old.discount_minor, old.register_id, old.lines[0].discount_minor, old.lines[0].gross_minor) == (0, None, 0, None)


def test_history_regenerates_the_published_events_from_the_tables(
    client: TestClient, auth: Any, helpers: Any, approval: Any
) -> None:
    shift_id = str(uuid.uuid4())
    opened = {"id": shift_id, "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 10000}
    assert client.post("/api/sales/shifts", json=opened, headers=auth()).status_code == 201
    first = _sale(client, auth, helpers, register_id="till-1", discount={"kind": "percent", "value": 500})
    _sale(client, auth, helpers, lines=[("tea", 3)], tenders=[{"kind": "card", "amount_minor": 1197}])
    refund = {"id": str(uuid.uuid4()), "reason": "broken", "register_id": "till-1", "lines": [{"line_no": 1, "qty": 1}]}
    assert client.post(f"/api/sales/{first['sale_id']}/refunds", json=refund, headers=auth("manager")).status_code == 201
    cart_id = str(uuid.uuid4())
    void = {
        "id": cart_id,
        "outlet_id": OUTLET,
        "register_id": "till-1",
        "lines": [{"product_id": "mug", "qty": 1}],
        "reason": "left",
    }
    assert client.post("/api/sales/voids", json=void, headers=auth("manager")).status_code == 201
    closed = client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 12000}, headers=auth())
    assert closed.status_code in (200, 201), closed.text

    published = {
        _key(e): e
        for kind in ("SaleCompleted", "SaleRefunded", "SaleVoided", "ShiftClosed")
        for e in helpers.outbox(client, kind)
    }
    assert len(published) == 5
    [voided] = helpers.outbox(client, "SaleVoided")
    assert voided["payload"]["register_id"] == "till-1"  # optional SaleVoided field, as on the sale events

    whole = client.get("/api/sales/history", headers=auth("admin"))
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert (body["total"], body["next_after"]) == (5, None)
    regenerated = body["events"]
    order = [e["type"] for e in regenerated]
    assert order.index("SaleRefunded") > order.index("SaleCompleted") and order[-1] == "ShiftClosed"
    for event in regenerated:
        key = _key(event)
        original = published[key]
        # the same event as the live path published (the payload to the field), under a stable id
        assert event["payload"] == original["payload"], key
        assert (event["producer"], event["outlet_id"], event["version"]) == ("sales", OUTLET, original["version"])
        assert event["event_id"] == stable_event_id(key[0], key[1]) != original["event_id"]

    # page by page: the same events in the same order, and the same ids every time
    paged, after = [], None
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = client.get("/api/sales/history", params=params, headers=auth("admin")).json()
        paged += page["events"]
        after = page["next_after"]
        if after is None:
            break
    assert [e["event_id"] for e in paged] == [e["event_id"] for e in regenerated]

    assert client.get("/api/sales/history", headers=auth("manager")).status_code == 403
    bad = client.get("/api/sales/history", params={"after": "yesterday"}, headers=auth("admin"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "after"]
