"""Refunds on the local stack through the gateway: by line and quantity with restock
(SaleRefunded -> inventory returns the stock), to the card the sale was paid with (the
card sandbox shows the refund) or in cash, a manager's PIN approval, never more than
was sold minus earlier refunds, and the refund slip."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, eventually, make_shop, sandbox_intents, sandbox_refunds  # noqa: F401 (fixture)
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Shop:  # noqa: F811
    shop = make_shop(checkout_stack)
    shop.add_product("lamp", 4500, 20)
    shop.add_product("bulb", 300, 50, tax_class="reduced")
    return shop


def sell(shop: Shop, lines: list[tuple[str, int]], tenders: list[dict[str, Any]]) -> dict[str, Any]:
    body = shop.sale(lines, tenders)
    response = shop.cashier.post("/api/sales", json=body)
    assert response.status_code == 201, response.text
    eventually(lambda: shop.ledger(body["id"]), "the sale's deduction")
    return response.json()


def refund(shop: Shop, sale_id: str, approval: str | None = None, **body: Any) -> httpx.Response:
    payload = {"id": str(uuid.uuid4()), "reason": "returned by the customer", **body}
    headers = {"X-Approval-Token": approval} if approval else {}
    return shop.cashier.post(f"/api/sales/{sale_id}/refunds", json=payload, headers=headers)


def test_refund_with_restock_to_the_card(shop: Shop) -> None:
    receipt = sell(shop, [("lamp", 3), ("bulb", 4)], [{"kind": "card", "amount_minor": 14700, "card_token": "pm_card_visa"}])
    sale_id = receipt["sale_id"]
    lamps_before = shop.level("lamp")["on_hand"]

    assert refund(shop, sale_id, lines=[{"line_no": 1, "qty": 2}]).status_code == 403  # no manager, no refund
    approval = shop.approval("refund", sale_id)
    response = refund(shop, sale_id, approval, lines=[{"line_no": 1, "qty": 2, "restock": True}])
    assert response.status_code == 201, response.text
    slip = response.json()
    assert (slip["total_minor"], slip["tenders"], slip["approved_by"]) == (
        9000,
        [{"kind": "card", "amount_minor": 9000}],
        shop.manager_id,
    )
    assert slip["lines"][0]["restock"] is True

    # payments gave it back to the card: the card processor holds the refund
    [intent] = sandbox_intents(sale_id)
    assert [(r["amount"], r["status"]) for r in sandbox_refunds(intent["id"])] == [(9000, "succeeded")]
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": sale_id}).json()
    assert (payment["status"], payment["refunded_minor"]) == ("captured", 9000)
    refund_record = shop.cashier.get(f"/api/payments/refunds/{slip['refund_id']}").json()
    assert refund_record["status"] == "refunded"

    # sales: what is left to refund
    sale = shop.cashier.get(f"/api/sales/{sale_id}").json()
    assert (sale["refunded_minor"], [line["refunded_qty"] for line in sale["lines"]]) == (9000, [2, 0])
    too_many = refund(shop, sale_id, shop.approval("refund", sale_id), lines=[{"line_no": 1, "qty": 2}])
    assert too_many.status_code == 422 and "only 1 of 3 left" in too_many.json()["detail"], too_many.text

    # inventory consumed SaleRefunded: the two lamps are back on the shelf, once
    returned = eventually(lambda: shop.ledger(slip["refund_id"]), "the stock to come back", timeout=30)
    assert [(row["kind"], row["delta"]) for row in returned] == [("return", 2)]
    assert shop.level("lamp")["on_hand"] == lamps_before + 2

    text = shop.cashier.get(f"/api/sales/refunds/{slip['refund_id']}", params={"format": "text"})
    assert text.status_code == 200 and "REFUND" in text.text and "-90.00" in text.text


def test_refund_without_restock_in_cash_then_the_rest(shop: Shop) -> None:
    receipt = sell(shop, [("bulb", 5)], [{"kind": "card", "amount_minor": 1500}])
    sale_id = receipt["sale_id"]
    bulbs_before = shop.level("bulb")["on_hand"]
    broken = refund(
        shop, sale_id, shop.approval("refund", sale_id), lines=[{"line_no": 1, "qty": 2, "restock": False}], destination="cash"
    )
    assert broken.status_code == 201, broken.text
    assert broken.json()["tenders"] == [{"kind": "cash", "amount_minor": 600}]
    rest = shop.manager.post(
        f"/api/sales/{sale_id}/refunds", json={"id": str(uuid.uuid4()), "reason": "all of it", "restock": True}
    )
    assert rest.status_code == 201, rest.text  # a manager approves their own refund
    assert (rest.json()["total_minor"], rest.json()["tenders"]) == (900, [{"kind": "card", "amount_minor": 900}])
    assert (
        shop.manager.post(f"/api/sales/{sale_id}/refunds", json={"id": str(uuid.uuid4()), "reason": "again"}).status_code == 409
    )

    returned = eventually(lambda: shop.ledger(rest.json()["refund_id"]), "the restocked bulbs", timeout=30)
    assert [(row["kind"], row["delta"]) for row in returned] == [("return", 3)]
    time.sleep(1.0)
    assert shop.ledger(broken.json()["refund_id"]) == []  # not restocked: nothing came back
    assert shop.level("bulb")["on_hand"] == bulbs_before + 3
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": sale_id}).json()
    assert (payment["status"], payment["refunded_minor"]) == ("refunded", 1500)


def test_the_same_refund_posted_twice_is_one_refund(shop: Shop) -> None:
    receipt = sell(shop, [("lamp", 1)], [{"kind": "cash", "amount_minor": 5000}])
    sale_id = receipt["sale_id"]
    body = {"id": str(uuid.uuid4()), "reason": "duplicate tap", "lines": [{"line_no": 1, "qty": 1}]}
    approval = shop.approval("refund", sale_id)
    first = shop.cashier.post(f"/api/sales/{sale_id}/refunds", json=body, headers={"X-Approval-Token": approval})
    again = shop.cashier.post(f"/api/sales/{sale_id}/refunds", json=body, headers={"X-Approval-Token": approval})
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    returned = eventually(lambda: shop.ledger(body["id"]), "the restocked lamp", timeout=30)
    time.sleep(1.0)
    assert (
        [(row["kind"], row["delta"]) for row in shop.ledger(body["id"])]
        == [(row["kind"], row["delta"]) for row in returned]
        == [("return", 1)]
    )
