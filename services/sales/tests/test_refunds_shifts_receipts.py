"""Refunds, park/resume/void, receipts (JSON, 80 mm HTML, text, reprint) and register
shifts with a blind close and the Z-report, through the API in process."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient

OUTLET = "outlet-a"


def completed(
    client: TestClient, auth: Any, helpers: Any, lines: list[tuple[str, int]], tenders: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    r = client.post("/api/sales", json=helpers.sale(lines, tenders, **extra), headers=auth())
    assert r.status_code == 201, r.text
    return r.json()


def refund(client: TestClient, headers: dict[str, str], sale_id: str, **body: Any) -> Any:
    payload = {"id": str(uuid.uuid4()), "reason": "changed mind", **body}
    return client.post(f"/api/sales/{sale_id}/refunds", json=payload, headers=headers)


def test_refund_by_line_then_the_rest_never_more_than_sold(
    client: TestClient, auth: Any, helpers: Any, fakes: Any, approval: Any
) -> None:
    receipt = completed(client, auth, helpers, [("mug", 3), ("tea", 1)], [{"kind": "card", "amount_minor": 4149}])
    sale_id = receipt["sale_id"]
    assert refund(client, auth(), sale_id, lines=[{"line_no": 1, "qty": 1}]).status_code == 403  # a cashier alone may not

    approved = {"approved_by": approval("refund", sale_id)}
    first = refund(client, auth(), sale_id, lines=[{"line_no": 1, "qty": 1, "restock": False}], **approved)
    assert first.status_code == 201, first.text
    slip = first.json()
    # one mug of three: 3750 / 3 = 1250, tax 625 * 1 / 3 = 208.33 -> 208
    assert (slip["total_minor"], slip["tax_minor"], slip["tenders"], slip["approved_by"]) == (
        1250,
        208,
        [{"kind": "card", "amount_minor": 1250}],
        "boss",
    )
    again = client.post(
        f"/api/sales/{sale_id}/refunds",
        json={
            "id": slip["refund_id"],
            "reason": "changed mind",
            "lines": [{"line_no": 1, "qty": 1, "restock": False}],
            **approved,
        },
        headers=auth(),
    )
    assert (again.status_code, again.json()) == (201, slip)

    too_many = refund(client, auth("manager"), sale_id, lines=[{"line_no": 1, "qty": 3}])
    assert too_many.status_code == 422 and "only 2 of 3 left" in too_many.json()["detail"]

    reused = refund(client, auth(), sale_id, lines=[{"line_no": 2, "qty": 1}], **approved)
    assert reused.status_code == 403 and "already used" in reused.json()["detail"]

    rest = refund(client, auth("manager"), sale_id, destination="cash")
    assert rest.status_code == 201, rest.text
    assert [(line["line_no"], line["qty"], line["restock"]) for line in rest.json()["lines"]] == [(1, 2, True), (2, 1, True)]
    # every unit refunded: exactly the line totals and taxes, never a cent more
    assert slip["total_minor"] + rest.json()["total_minor"] == receipt["total_minor"]
    assert slip["tax_minor"] + rest.json()["tax_minor"] == receipt["tax_minor"]
    assert rest.json()["tenders"] == [{"kind": "cash", "amount_minor": receipt["total_minor"] - 1250}]
    assert refund(client, auth("manager"), sale_id).status_code == 409  # nothing left

    events = helpers.outbox(client, "SaleRefunded")
    assert [[(line["line_no"], line["qty"], line["restock"]) for line in e["payload"]["lines"]] for e in events] == [
        [(1, 1, False)],
        [(1, 2, True), (2, 1, True)],
    ]
    assert events[0]["payload"]["approved_by"] == "boss"
    sale = client.get(f"/api/sales/{sale_id}", headers=auth()).json()
    assert (sale["refunded_minor"], [line["refunded_qty"] for line in sale["lines"]]) == (receipt["total_minor"], [3, 1])
    assert [r["status"] for r in client.get(f"/api/sales/{sale_id}/refunds", headers=auth()).json()] == ["COMPLETED", "COMPLETED"]


def test_concurrent_refunds_cannot_both_take_the_last_unit(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = completed(client, auth, helpers, [("mug", 1)], [{"kind": "cash", "amount_minor": 1250}])
    headers = auth("manager")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda _: refund(client, headers, receipt["sale_id"], lines=[{"line_no": 1, "qty": 1}]), range(4))
        )
    assert sorted(r.status_code for r in answers) == [201, 422, 422, 422], [r.text for r in answers]
    assert len(helpers.outbox(client, "SaleRefunded")) == 1


def test_a_failed_refund_gives_the_quantity_back(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    receipt = completed(client, auth, helpers, [("mug", 1)], [{"kind": "card", "amount_minor": 1250}])
    fakes.refund_mode = "fail"
    failed = refund(client, auth("manager"), receipt["sale_id"])
    assert failed.status_code == 422, failed.text
    fakes.refund_mode = "refund"
    assert refund(client, auth("manager"), receipt["sale_id"]).status_code == 201
    assert helpers.outbox(client, "SaleRefunded")[0]["payload"]["total_minor"] == 1250


def test_only_completed_sales_are_refunded(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    fakes.mode = "decline"
    body = helpers.sale(tenders=[{"kind": "card", "amount_minor": 2500}])
    assert client.post("/api/sales", json=body, headers=auth()).status_code == 402
    assert refund(client, auth("manager"), body["id"]).status_code == 409
    assert refund(client, auth("manager"), str(uuid.uuid4())).status_code == 404


def test_refund_slip_prints(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = completed(client, auth, helpers, [("mug", 1)], [{"kind": "cash", "amount_minor": 2000}])
    slip = refund(client, auth("manager"), receipt["sale_id"]).json()
    text = client.get(f"/api/sales/refunds/{slip['refund_id']}", params={"format": "text"}, headers=auth()).text
    assert "REFUND" in text and "-12.50" in text and receipt["receipt_number"] in text


def test_park_resume_and_void(client: TestClient, auth: Any, helpers: Any, approval: Any) -> None:
    cart_id = str(uuid.uuid4())
    parked = client.post(
        "/api/sales/parked",
        json={
            "id": cart_id,
            "outlet_id": OUTLET,
            "register_id": "till-1",
            "lines": [{"product_id": "mug", "qty": 1}],
            "note": "back in 5",
        },
        headers=auth(),
    )
    assert parked.status_code == 201, parked.text
    assert [c["id"] for c in client.get("/api/sales/parked", params={"outlet_id": OUTLET}, headers=auth()).json()] == [cart_id]
    assert client.get("/api/sales/parked", headers=auth(outlets=["outlet-b"])).json() == []
    resumed = client.post(f"/api/sales/parked/{cart_id}/resume", headers=auth())
    assert (resumed.status_code, resumed.json()["cart"]["lines"]) == (200, [{"product_id": "mug", "qty": 1, "discount": None}])
    assert client.post(f"/api/sales/parked/{cart_id}/resume", headers=auth()).status_code == 404  # once only

    void = {
        "id": cart_id,
        "outlet_id": OUTLET,
        "register_id": "till-1",
        "lines": [{"product_id": "mug", "qty": 1}],
        "reason": "customer left",
    }
    assert client.post("/api/sales/voids", json=void, headers=auth()).status_code == 403
    done = client.post("/api/sales/voids", json=void, headers={**auth(), "X-Approval-Token": approval("void", cart_id)})
    assert done.status_code == 201, done.text
    assert (done.json()["status"], done.json()["approved_by"], done.json()["total_minor"]) == ("VOIDED", "boss", 1250)
    repeat = client.post("/api/sales/voids", json=void, headers=auth("manager"))
    assert (repeat.status_code, repeat.json()) == (201, done.json())
    [event] = helpers.outbox(client, "SaleVoided")
    assert (event["payload"]["sale_id"], event["payload"]["approved_by"]) == (cart_id, "boss")
    sold = client.post("/api/sales", json={**helpers.sale(), "id": cart_id}, headers=auth())
    assert sold.status_code == 409
    assert [s["id"] for s in client.get("/api/sales", params={"status": "VOIDED"}, headers=auth()).json()["items"]] == [cart_id]

    receipt = completed(client, auth, helpers, [("mug", 1)], [{"kind": "cash", "amount_minor": 2000}])
    late = client.post("/api/sales/voids", json={**void, "id": receipt["sale_id"]}, headers=auth("manager"))
    assert late.status_code == 409 and "refund it" in late.json()["detail"]


def test_receipt_as_json_html_text_and_reprint(client: TestClient, auth: Any, helpers: Any) -> None:
    receipt = completed(
        client,
        auth,
        helpers,
        [("mug", 2), ("tea", 1)],
        [{"kind": "cash", "amount_minor": 5000}],
        register_id="till-9",
        discount={"kind": "amount", "value": 100},
    )
    sale_id = receipt["sale_id"]
    as_json = client.get(f"/api/sales/{sale_id}/receipt", headers=auth())
    assert as_json.json() == receipt
    page = client.get(f"/api/sales/{sale_id}/receipt", params={"format": "html"}, headers=auth())
    assert page.headers["content-type"].startswith("text/html")
    assert "size: 80mm auto" in page.text
    assert "Espresso cup &lt;small&gt;" in page.text and "<small>" not in page.text
    text = client.get(f"/api/sales/{sale_id}/receipt", params={"format": "text"}, headers=auth()).text
    assert all(len(line) <= 42 for line in text.splitlines())
    assert "R9-000001" in text and "Register 9 Till 9" in text and "TOTAL EUR" in text and "27.99" in text and "Change" in text
    assert "A" in text and "20%" in text and "5%" in text
    copy1 = client.post(f"/api/sales/{sale_id}/reprint", headers=auth())
    copy2 = client.post(f"/api/sales/{sale_id}/reprint", params={"format": "text"}, headers=auth())
    assert copy1.json()["copy"] == 1 and "COPY 2" in copy2.text


def test_shift_open_move_cash_blind_close_and_z_report(client: TestClient, auth: Any, helpers: Any) -> None:
    shift_id = str(uuid.uuid4())
    opened = client.post(
        "/api/sales/shifts",
        json={"id": shift_id, "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 10000},
        headers=auth(),
    )
    assert opened.status_code == 201, opened.text
    second = client.post(
        "/api/sales/shifts",
        json={"id": str(uuid.uuid4()), "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 0},
        headers=auth(),
    )
    assert second.status_code == 409

    cash_sale = completed(client, auth, helpers, [("mug", 2)], [{"kind": "cash", "amount_minor": 3000}], register_id="till-1")
    completed(client, auth, helpers, [("tea", 1)], [{"kind": "card", "amount_minor": 399}], register_id="till-1")
    completed(
        client, auth, helpers, [("mug", 1)], [{"kind": "cash", "amount_minor": 1250}], register_id="till-2"
    )  # another register
    completed(
        client,
        auth,
        helpers,
        [("mug", 1)],
        [{"kind": "card", "amount_minor": 250}, {"kind": "cash", "amount_minor": 1000}],
        register_id="till-1",
        discount={"kind": "amount", "value": 100},
    )
    move = {"id": str(uuid.uuid4()), "kind": "out", "amount_minor": 5000, "reason": "safe drop"}
    assert client.post(f"/api/sales/shifts/{shift_id}/cash-movements", json=move, headers=auth()).status_code == 201
    assert (
        client.post(f"/api/sales/shifts/{shift_id}/cash-movements", json=move, headers=auth()).status_code == 201
    )  # repeat is safe
    client.post(
        f"/api/sales/shifts/{shift_id}/cash-movements",
        json={"id": str(uuid.uuid4()), "kind": "in", "amount_minor": 2000, "reason": "coins"},
        headers=auth(),
    )
    refunded = refund(client, auth("manager"), cash_sale["sale_id"], lines=[{"line_no": 1, "qty": 1}], register_id="till-1")
    assert refunded.status_code == 201
    client.post(
        "/api/sales/voids",
        json={"id": str(uuid.uuid4()), "outlet_id": OUTLET, "register_id": "till-1", "reason": "mistake"},
        headers=auth("manager"),
    )

    shift = client.get(f"/api/sales/shifts/{shift_id}", headers=auth()).json()
    assert "expected_cash_minor" not in shift  # blind: not shown before the count
    assert client.get(f"/api/sales/shifts/{shift_id}/z-report", headers=auth()).status_code == 409

    # expected: 10000 float + 2500 + 900 cash sales - 1250 cash refund - 5000 out + 2000 in = 9150
    closed = client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 9100}, headers=auth())
    assert closed.status_code == 200, closed.text
    z = closed.json()
    assert z["cash"] == {
        "opening_float_minor": 10000,
        "sales_minor": 3400,
        "refunds_minor": 1250,
        "in_minor": 2000,
        "out_minor": 5000,
        "foreign_change_minor": 0,
        "expected_minor": 9150,
        "counted_minor": 9100,
        "over_short_minor": -50,
    }
    assert (z["sales"]["count"], z["sales"]["total_minor"], z["sales"]["discount_minor"], z["sales"]["gross_minor"]) == (
        3,
        2500 + 399 + 1150,
        100,
        2500 + 399 + 1250,
    )
    assert (z["refunds"]["count"], z["refunds"]["total_minor"], z["voids"]["count"], z["net_minor"]) == (
        1,
        1250,
        1,
        2500 + 399 + 1150 - 1250,
    )
    assert z["tenders"] == {
        "card": {"taken_minor": 649, "refunded_minor": 0},
        "cash": {"taken_minor": 3400, "refunded_minor": 1250},
    }
    assert z["foreign_cash"] == []  # no foreign cash taken (test_foreign_cash.py)
    assert sum(b["tax_minor"] for b in z["tax"]) == z["sales"]["tax_minor"] - z["refunds"]["tax_minor"]
    assert client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 9100}, headers=auth()).json() == z
    assert (
        client.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 9999}, headers=auth()).status_code == 409
    )
    after = client.get(f"/api/sales/shifts/{shift_id}", headers=auth()).json()
    assert (after["status"], after["expected_cash_minor"], after["over_short_minor"]) == ("closed", 9150, -50)
    [event] = helpers.outbox(client, "ShiftClosed")
    assert (event["payload"]["over_short_minor"], event["payload"]["sales_count"], event["payload"]["refunds_total_minor"]) == (
        -50,
        3,
        1250,
    )
    text = client.get(f"/api/sales/shifts/{shift_id}/z-report", params={"format": "text"}, headers=auth()).text
    assert "Z REPORT" in text and "Short" in text and all(len(line) <= 42 for line in text.splitlines())
    reopened = client.post(
        "/api/sales/shifts",
        json={"id": str(uuid.uuid4()), "outlet_id": OUTLET, "register_id": "till-1", "opening_float_minor": 0},
        headers=auth(),
    )
    assert reopened.status_code == 201
    assert (
        client.post(
            f"/api/sales/shifts/{shift_id}/cash-movements", json={**move, "id": str(uuid.uuid4())}, headers=auth()
        ).status_code
        == 409
    )
