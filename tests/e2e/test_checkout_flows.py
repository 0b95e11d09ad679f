"""Checkout on the local stack, through the nginx gateway only, with card payments going
to the card sandbox process: every tender, split tender, a decline (reservation
released, nothing sold), provider timeout and 5xx then success (one charge), 20
concurrent posts of one sale id, discounts approved by a manager's PIN, receipts,
park/resume, void, and a register shift to its Z-report."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, eventually, make_shop, sandbox_intents  # noqa: F401 (fixture)
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shop(checkout_stack: Stack) -> Shop:
    shop = make_shop(checkout_stack)
    shop.add_product("mug", 1250, 200)
    shop.add_product("tea", 399, 200, tax_class="reduced")
    return shop


def post(shop: Shop, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return shop.cashier.post("/api/sales", json=body, headers=headers or {})


def deducted(shop: Shop, sale_id: str) -> list[tuple[str, int]]:
    rows = eventually(lambda: shop.ledger(sale_id), f"the ledger rows of sale {sale_id}")
    return sorted((row["kind"], row["delta"]) for row in rows)


def test_cash_with_change(shop: Shop) -> None:
    before = shop.level("mug")["on_hand"]
    body = shop.sale([("mug", 2), ("tea", 1)], [{"kind": "cash", "amount_minor": 5000}])
    response = post(shop, body)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["total_minor"], receipt["tendered_minor"], receipt["change_minor"]) == (2899, 5000, 2101)
    assert receipt["tenders"] == [{"kind": "cash", "amount_minor": 2899, "tendered_minor": 5000}]
    assert deducted(shop, body["id"]) == [("sale", -2), ("sale", -1)]
    assert shop.level("mug")["on_hand"] == before - 2
    payment = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert [(p["status"], p["change_minor"]) for p in payment] == [("captured", 2101)]
    assert sandbox_intents(body["id"]) == []  # cash never reaches the card processor


def test_card_is_charged_once(shop: Shop) -> None:
    body = shop.sale([("mug", 1)], [{"kind": "card", "amount_minor": 1250, "card_token": "pm_card_mastercard"}])
    response = post(shop, body)
    assert response.status_code == 201, response.text
    [intent] = sandbox_intents(body["id"])
    assert (intent["amount"], intent["currency"], intent["status"]) == (1250, "eur", "succeeded")
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert [(t["kind"], t["status"], t["provider_ref"]) for t in payment["tenders"]] == [("card", "captured", intent["id"])]
    assert deducted(shop, body["id"]) == [("sale", -1)]


@pytest.mark.parametrize(
    "tenders",
    [
        [{"kind": "card", "amount_minor": 2000}, {"kind": "cash", "amount_minor": 1000}],
        [
            {"kind": "card", "amount_minor": 1000, "card_token": "pm_card_visa"},
            {"kind": "card", "amount_minor": 1500, "card_token": "pm_card_amex"},
        ],
    ],
    ids=["card+cash", "card+card"],
)
def test_split_tender(shop: Shop, tenders: list[dict[str, Any]]) -> None:
    body = shop.sale([("mug", 2)], tenders)
    response = post(shop, body)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert sum(t["amount_minor"] for t in receipt["tenders"]) == receipt["total_minor"] == 2500
    cards = [t["amount_minor"] for t in tenders if t["kind"] == "card"]
    assert sorted(i["amount"] for i in sandbox_intents(body["id"])) == sorted(cards)
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert payment["status"] == "captured" and all(t["status"] == "captured" for t in payment["tenders"])
    assert deducted(shop, body["id"]) == [("sale", -2)]


def test_decline_releases_the_reservation_and_sells_nothing(shop: Shop) -> None:
    before = shop.level("mug")
    body = shop.sale(
        [("mug", 3)],
        [
            {"kind": "cash", "amount_minor": 750},
            {"kind": "card", "amount_minor": 3000, "card_token": "pm_card_chargeDeclinedInsufficientFunds"},
        ],
    )
    response = post(shop, body)
    assert response.status_code == 402, response.text
    assert response.json()["decline_code"] == "insufficient_funds"
    reservation = shop.cashier.get(f"/api/inventory/reservations/{body['id']}").json()
    assert reservation["status"] == "released"
    assert shop.level("mug") == before
    assert shop.cashier.get(f"/api/sales/{body['id']}").json()["status"] == "FAILED"
    assert [i["amount_received"] for i in sandbox_intents(body["id"])] == [0]
    [payment] = shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()
    assert payment["status"] == "declined"
    time.sleep(1.0)  # a wrong SaleCompleted would have reached inventory by now
    assert shop.ledger(body["id"]) == []
    assert shop.level("mug") == before


@pytest.mark.parametrize("card", ["pm_card_sandbox_timeoutOnce", "pm_card_sandbox_error500Once"], ids=["timeout", "5xx"])
def test_provider_timeout_or_5xx_then_success_charges_once(shop: Shop, card: str) -> None:
    body = shop.sale([("tea", 2)], [{"kind": "card", "amount_minor": 798, "card_token": card}])
    started = time.monotonic()
    response = post(shop, body)
    assert response.status_code == 201, response.text
    if card.endswith("timeoutOnce"):
        assert time.monotonic() - started > 2  # the first answer really was waited for, then given up on
    [intent] = sandbox_intents(body["id"])
    assert (intent["amount_received"], intent["status"]) == (798, "succeeded")
    assert deducted(shop, body["id"]) == [("sale", -2)]


def test_twenty_concurrent_posts_of_one_sale_are_one_sale(shop: Shop) -> None:
    before = shop.level("tea")["on_hand"]
    body = shop.sale([("tea", 3)], [{"kind": "card", "amount_minor": 1197, "card_token": "pm_card_visa"}])
    token = shop.cashier.headers["Authorization"]

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=shop.stack.base_url, headers={"Authorization": token}, timeout=60) as http:
            return http.post("/api/sales", json=body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert [r.status_code for r in answers] == [201] * 20, [r.text for r in answers if r.status_code != 201]
    assert len({r.text for r in answers}) == 1
    assert len(sandbox_intents(body["id"])) == 1
    assert len(shop.cashier.get("/api/payments/payments", params={"sale_id": body["id"]}).json()) == 1
    assert deducted(shop, body["id"]) == [("sale", -3)]
    time.sleep(1.0)
    assert shop.level("tea")["on_hand"] == before - 3
    found = shop.cashier.get(
        "/api/sales", params={"receipt_number": answers[0].json()["receipt_number"], "outlet_id": shop.outlet["id"]}
    ).json()
    assert found["total"] == 1


def test_large_discount_is_approved_by_a_managers_pin(shop: Shop) -> None:
    body = shop.sale(
        [("mug", 2)],
        [{"kind": "cash", "amount_minor": 2000}],
        discount={"kind": "percent", "value": 3000, "reason": "damaged box"},
    )
    refused = post(shop, body)
    assert refused.status_code == 403, refused.text
    approved = post(shop, body, {"X-Approval-Token": shop.approval("discount", body["id"])})
    assert approved.status_code == 201, approved.text
    receipt = approved.json()
    assert (receipt["discount_minor"], receipt["total_minor"], receipt["approved_by"]) == (750, 1750, shop.manager_id)


def test_receipts_per_register_as_html_text_and_reprint(shop: Shop) -> None:
    """Registers made a moment ago sell at once; each prints its own number in its
    receipt numbers, so two registers of the outlet never print the same one (issue 14,
    finding 8: `counter-east-1` and `counter-east-2` both printed `counter--000001`)."""
    east1, east2 = shop.add_register("counter-east-1"), shop.add_register("counter-east-2")
    numbers = []
    for register in (east1, east2, east1):
        body = shop.sale([("tea", 1)], [{"kind": "cash", "amount_minor": 500}], register_id=register["id"])
        response = post(shop, body)
        assert response.status_code == 201, response.text
        numbers.append(response.json()["receipt_number"])
    assert east1["number"] != east2["number"]
    assert numbers == [f"R{east1['number']}-000001", f"R{east2['number']}-000001", f"R{east1['number']}-000002"]
    sale_id = body["id"]
    page = shop.cashier.get(f"/api/sales/{sale_id}/receipt", params={"format": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "size: 80mm auto" in page.text and numbers[-1] in page.text
    text = shop.cashier.get(f"/api/sales/{sale_id}/receipt", params={"format": "text"})
    assert text.headers["content-type"].startswith("text/plain")
    assert all(len(line) <= 42 for line in text.text.splitlines()) and "TOTAL EUR" in text.text
    copy = shop.cashier.post(f"/api/sales/{sale_id}/reprint", params={"format": "text"})
    assert copy.status_code == 200 and "COPY 1" in copy.text


def test_park_resume_and_void_before_payment(shop: Shop) -> None:
    cart_id = str(uuid.uuid4())
    parked = shop.cashier.post(
        "/api/sales/parked",
        json={
            "id": cart_id,
            "outlet_id": shop.outlet["id"],
            "lines": [{"product_id": shop.products["mug"]["id"], "qty": 1}],
            "note": "fetching wallet",
        },
    )
    assert parked.status_code == 201, parked.text
    assert cart_id in [c["id"] for c in shop.cashier.get("/api/sales/parked", params={"outlet_id": shop.outlet["id"]}).json()]
    resumed = shop.cashier.post(f"/api/sales/parked/{cart_id}/resume")
    assert resumed.status_code == 200
    sold = post(shop, {"id": cart_id, **resumed.json()["cart"], "tenders": [{"kind": "cash", "amount_minor": 1250}]})
    assert sold.status_code == 201, sold.text
    assert deducted(shop, cart_id) == [("sale", -1)]

    before = shop.level("mug")
    void_id = str(uuid.uuid4())
    void = {
        "id": void_id,
        "outlet_id": shop.outlet["id"],
        "lines": [{"product_id": shop.products["mug"]["id"], "qty": 4}],
        "reason": "customer left",
    }
    assert shop.cashier.post("/api/sales/voids", json=void).status_code == 403
    done = shop.cashier.post("/api/sales/voids", json=void, headers={"X-Approval-Token": shop.approval("void", void_id)})
    assert done.status_code == 201, done.text
    assert (done.json()["status"], done.json()["approved_by"]) == ("VOIDED", shop.manager_id)
    assert post(shop, {**shop.sale([("mug", 1)], [{"kind": "cash", "amount_minor": 1250}]), "id": void_id}).status_code == 409
    assert shop.level("mug") == before


def test_a_register_that_is_not_the_outlets_sells_nothing(shop: Shop) -> None:
    """Issue 14, finding 7: any register id was taken (made up, emoji, another outlet's)."""
    elsewhere = make_shop(shop.stack)
    theirs = elsewhere.add_register("theirs")
    for register_id in (theirs["id"], "\U0001f6d2", str(uuid.uuid4())):
        refused = post(shop, shop.sale([("tea", 1)], [{"kind": "cash", "amount_minor": 500}], register_id=register_id))
        assert refused.status_code == 422, refused.text
        assert "is not a register of outlet" in refused.json()["detail"]


def test_register_shift_blind_close_and_z_report(shop: Shop) -> None:
    register = shop.add_register("shift")["id"]
    shift_id = str(uuid.uuid4())
    opened = shop.cashier.post(
        "/api/sales/shifts",
        json={"id": shift_id, "outlet_id": shop.outlet["id"], "register_id": register, "opening_float_minor": 10000},
    )
    assert opened.status_code == 201, opened.text
    assert post(shop, shop.sale([("mug", 1)], [{"kind": "cash", "amount_minor": 2000}], register_id=register)).status_code == 201
    assert post(shop, shop.sale([("tea", 1)], [{"kind": "card", "amount_minor": 399}], register_id=register)).status_code == 201
    out = shop.cashier.post(
        f"/api/sales/shifts/{shift_id}/cash-movements",
        json={"id": str(uuid.uuid4()), "kind": "out", "amount_minor": 3000, "reason": "safe drop"},
    )
    assert out.status_code == 201
    assert "expected_cash_minor" not in shop.cashier.get(f"/api/sales/shifts/{shift_id}").json()
    closed = shop.cashier.post(f"/api/sales/shifts/{shift_id}/close", json={"counted_cash_minor": 8300})
    assert closed.status_code == 200, closed.text
    z = closed.json()
    assert z["cash"]["expected_minor"] == 10000 + 1250 - 3000
    assert (z["cash"]["over_short_minor"], z["sales"]["count"], z["sales"]["total_minor"]) == (50, 2, 1649)
    assert z["tenders"] == {"card": {"taken_minor": 399, "refunded_minor": 0}, "cash": {"taken_minor": 1250, "refunded_minor": 0}}
    text = shop.cashier.get(f"/api/sales/shifts/{shift_id}/z-report", params={"format": "text"})
    assert text.status_code == 200 and "Z REPORT" in text.text and "Over" in text.text
