"""Checkout through the API in process: pricing from the replica, discounts and approval,
outlet tax settings and cash rounding, tenders, idempotency, declines, unknown payment
outcomes and the reconciler."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

OUTLET = "outlet-a"


def test_cash_sale_is_priced_from_the_replica_with_tax_bands_and_change(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    body = helpers.sale([("mug", 2), ("tea", 3)], [{"kind": "cash", "amount_minor": 5000}])
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert [(line["name"], line["qty"], line["total_minor"], line["tax_minor"]) for line in receipt["lines"]] == [
        ("Espresso cup <small>", 2, 2500, 417),  # 2500 * 2000 / 12000 = 416.67 -> 417
        ("Green tea 100 g", 3, 1197, 57),  # 1197 * 500 / 10500 = 57.0
    ]
    assert receipt["tax"] == [
        {"rate_bp": 500, "net_minor": 1140, "tax_minor": 57},
        {"rate_bp": 2000, "net_minor": 2083, "tax_minor": 417},
    ]
    assert (receipt["total_minor"], receipt["tax_minor"], receipt["tendered_minor"], receipt["change_minor"]) == (
        3697,
        474,
        5000,
        1303,
    )
    assert receipt["receipt_number"] == "R0000001"
    assert fakes.reservations == {body["id"]: "held"}
    assert fakes.capture_calls[0]["tenders"] == [{"kind": "cash", "amount_minor": 3697, "tendered_minor": 5000}]
    [event] = helpers.outbox(client, "SaleCompleted")
    assert event["payload"]["total_minor"] == 3697
    assert [line["category_id"] for line in event["payload"]["lines"]] == ["cups", "tea"]


def test_receipt_numbers_run_per_register(client: TestClient, auth: Any, helpers: Any) -> None:
    numbers = []
    for register in ("till-1", "till-1", "till-2", None, "till-1"):
        extra = {"register_id": register} if register else {}
        r = client.post("/api/sales", json=helpers.sale(**extra), headers=auth())
        assert r.status_code == 201, r.text
        numbers.append(r.json()["receipt_number"])
    # R<the register's number in the outlet>-<its own sequence>; R<7 digits> without one.
    assert numbers == ["R1-000001", "R1-000002", "R2-000001", "R0000001", "R1-000003"]
    found = client.get("/api/sales", params={"receipt_number": "R2-000001", "outlet_id": OUTLET}, headers=auth()).json()["items"]
    assert [s["register_id"] for s in found] == ["till-2"]


def test_same_id_twice_and_at_the_same_moment_is_one_sale(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    body, headers = helpers.sale(), auth()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: client.post("/api/sales", json=body, headers=headers), range(8)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.text for r in answers}) == 1
    assert len(helpers.outbox(client, "SaleCompleted")) == 1
    assert len({c["payment_id"] for c in fakes.capture_calls}) == 1
    changed = {**body, "lines": [{"product_id": "mug", "qty": 3}]}
    reused = client.post("/api/sales", json=changed, headers=headers)
    assert reused.status_code == 409 and "different sale" in reused.json()["detail"]


def test_prices_sent_by_the_till_or_unknown_fields_are_refused(client: TestClient, auth: Any, helpers: Any) -> None:
    body = helpers.sale()
    body["lines"][0]["price_minor"] = 1
    assert client.post("/api/sales", json=body, headers=auth()).status_code == 422
    archived = client.post("/api/sales", json=helpers.sale([("gone", 1)]), headers=auth())
    assert archived.status_code == 422 and "not for sale" in archived.json()["detail"]


def test_line_and_cart_discounts_are_shared_and_taxed_after_discount(client: TestClient, auth: Any, helpers: Any) -> None:
    body = helpers.sale(
        [("mug", 2), ("tea", 1)],
        [{"kind": "cash", "amount_minor": 5000}],
        discount={"kind": "amount", "value": 300, "reason": "loyalty"},
    )
    body["lines"][0]["discount"] = {"kind": "percent", "value": 1000}  # 10 % off the mugs: 250
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 201, r.text
    receipt = r.json()
    # bases after line discounts: 2250 and 399; the 300 is shared 255 / 45
    assert [(line["gross_minor"], line["discount_minor"], line["total_minor"]) for line in receipt["lines"]] == [
        (2500, 505, 1995),
        (399, 45, 354),
    ]
    assert (receipt["gross_minor"], receipt["discount_minor"], receipt["total_minor"]) == (2899, 550, 2349)
    assert receipt["tax_minor"] == sum(line["tax_minor"] for line in receipt["lines"]) == 333 + 17


def test_a_large_discount_needs_a_managers_approval_used_once(
    client: TestClient, auth: Any, helpers: Any, token: Any, approval: Any
) -> None:
    body = helpers.sale(discount={"kind": "percent", "value": 5000})
    refused = client.post("/api/sales", json=body, headers=auth())
    assert refused.status_code == 403, refused.text
    assert refused.json()["discounts"] == ["cart discount 1250 of 2500"]
    assert "PIN" in refused.json()["detail"]
    access_token = client.post("/api/sales", json={**body, "approved_by": token("manager")}, headers=auth())
    assert access_token.status_code == 403  # an access token is not an approval
    for wrong in (
        approval("refund", body["id"]),
        approval("discount", "another-sale"),
        approval("discount", body["id"], requested_by="someone-else"),
        approval("discount", body["id"], role="cashier"),
        approval("discount", body["id"], outlet_id="outlet-b", outlets=["outlet-b"]),
    ):
        assert client.post("/api/sales", json={**body, "approved_by": wrong}, headers=auth()).status_code == 403
    ok = approval("discount", body["id"])
    approved = client.post("/api/sales", json=body, headers={**auth(), "X-Approval-Token": ok})
    assert approved.status_code == 201, approved.text
    assert (approved.json()["approved_by"], approved.json()["total_minor"]) == ("boss", 1250)
    retry = client.post("/api/sales", json=body, headers={**auth(), "X-Approval-Token": ok})
    assert (retry.status_code, retry.json()) == (201, approved.json())
    unbound = approval("discount")  # no subject: good for any sale, but once
    first = client.post(
        "/api/sales", json={**helpers.sale(discount={"kind": "percent", "value": 5000}), "approved_by": unbound}, headers=auth()
    )
    assert first.status_code == 201, first.text
    second = client.post(
        "/api/sales", json={**helpers.sale(discount={"kind": "percent", "value": 5000}), "approved_by": unbound}, headers=auth()
    )
    assert second.status_code == 403 and "already used" in second.json()["detail"]
    by_manager = client.post(
        "/api/sales", json=helpers.sale(discount={"kind": "percent", "value": 5000}), headers=auth("manager")
    )
    assert by_manager.status_code == 201


def test_outlet_settings_tax_exclusive_and_cash_rounding(client: TestClient, auth: Any, helpers: Any) -> None:
    settings = client.get(f"/api/sales/outlets/{OUTLET}/settings", headers=auth()).json()
    assert settings["tax_rates_bp"]["standard"] == 2000
    changed = {
        **settings,
        "prices_include_tax": False,
        "cash_rounding_minor": 5,
        "tax_rates_bp": {"standard": 1900, "reduced": 700},
        "receipt_footer": ["Thank you"],
    }
    assert client.put(f"/api/sales/outlets/{OUTLET}/settings", json=changed, headers=auth()).status_code == 403
    assert client.put(f"/api/sales/outlets/{OUTLET}/settings", json=changed, headers=auth("manager")).status_code == 200
    r = client.post("/api/sales", json=helpers.sale([("tea", 1)], [{"kind": "cash", "amount_minor": 500}]), headers=auth())
    assert r.status_code == 201, r.text
    receipt = r.json()
    # 399 net + 7 % = 27.93 -> 28 tax; 427 rounds to 425 in cash
    assert (
        receipt["tax_minor"],
        receipt["total_minor"],
        receipt["rounding_minor"],
        receipt["due_minor"],
        receipt["change_minor"],
    ) == (28, 427, -2, 425, 75)
    assert receipt["footer"] == ["Thank you"]
    card = client.post("/api/sales", json=helpers.sale([("tea", 1)], [{"kind": "card", "amount_minor": 427}]), headers=auth())
    assert (card.status_code, card.json()["rounding_minor"]) == (201, 0)


def test_card_and_split_tenders_go_to_payments_with_the_card_token(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    split = helpers.sale(
        [("mug", 2)],
        [{"kind": "card", "amount_minor": 2000, "card_token": "pm_card_visa"}, {"kind": "cash", "amount_minor": 1000}],
    )
    r = client.post("/api/sales", json=split, headers=auth())
    assert r.status_code == 201, r.text
    assert r.json()["tenders"] == [
        {"kind": "card", "amount_minor": 2000, "tendered_minor": 2000},
        {"kind": "cash", "amount_minor": 500, "tendered_minor": 1000},
    ]
    assert fakes.capture_calls[-1]["tenders"] == [
        {"kind": "card", "amount_minor": 2000, "card_token": "pm_card_visa"},
        {"kind": "cash", "amount_minor": 500, "tendered_minor": 1000},
    ]
    too_much_card = client.post(
        "/api/sales", json=helpers.sale([("mug", 1)], [{"kind": "card", "amount_minor": 1300}]), headers=auth()
    )
    assert too_much_card.status_code == 422


def test_a_card_taken_on_the_reader_goes_to_payments_with_its_reference(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    """ADR 0073: the reader's reference instead of a token; payments captures it."""
    body = helpers.sale([("mug", 2)], [{"kind": "card", "amount_minor": 2500, "reader_ref": "psp_0123456789"}])
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 201, r.text
    assert fakes.capture_calls[-1]["tenders"] == [{"kind": "card", "amount_minor": 2500, "reader_ref": "psp_0123456789"}]
    both = helpers.sale(
        [("mug", 2)], [{"kind": "card", "amount_minor": 2500, "reader_ref": "psp_0123456789", "card_token": "pm_card_visa"}]
    )
    refused = client.post("/api/sales", json=both, headers=auth())
    assert refused.status_code == 422 and "reader_ref" in refused.text


def test_decline_releases_the_reservation_and_sells_nothing(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    fakes.mode = "decline"
    body = helpers.sale(tenders=[{"kind": "card", "amount_minor": 2500}])
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 402, r.text
    assert r.json()["decline_code"] == "generic_decline"
    assert fakes.reservations[body["id"]] == "released"
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "FAILED"
    assert helpers.outbox(client, "SaleCompleted") == []
    fakes.mode = "capture"
    again = client.post("/api/sales", json=body, headers=auth())
    assert (again.status_code, again.json()) == (402, r.json())


def test_short_stock_names_the_line(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    fakes.stock["mug"] = 1
    r = client.post("/api/sales", json=helpers.sale(), headers=auth())
    assert r.status_code == 409
    assert r.json()["short"] == [{"product_id": "mug", "requested": 2, "available": 1}]
    assert fakes.capture_calls == []


def test_payments_unreachable_is_retryable_and_charges_nothing(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    body = helpers.sale()
    fakes.mode = "unreachable"
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 503 and "nothing was charged" in r.json()["detail"]
    fakes.mode = "capture"
    again = client.post("/api/sales", json=body, headers=auth())
    assert again.status_code == 201, again.text
    assert len(helpers.outbox(client, "SaleCompleted")) == 1


def test_a_lost_payment_answer_is_settled_by_reconciling(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    body = helpers.sale(tenders=[{"kind": "card", "amount_minor": 2500}])
    fakes.mode, fakes.reconcile_mode = "lost", "down"
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 503 and r.json()["status"] == "PENDING", r.text
    assert "do not take payment again" in r.json()["detail"]
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "PENDING"
    assert fakes.reservations[body["id"]] == "held"  # not released: the money may have been taken

    fakes.mode, fakes.reconcile_mode = "capture", "answer"
    checkout = client.app.state.checkout
    settled = asyncio.run(checkout.reconcile(body["id"]))
    assert settled is not None and settled.status == 201
    assert asyncio.run(checkout.reconcile(body["id"])) is None  # already settled: nothing to do
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "COMPLETED"
    assert len(helpers.outbox(client, "SaleCompleted")) == 1
    repeat = client.post("/api/sales", json=body, headers=auth())
    assert (repeat.status_code, repeat.json()) == (201, settled.body)


def test_a_sale_whose_payment_never_arrived_is_cancelled_by_the_reconciler(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    body = helpers.sale()
    fakes.mode, fakes.reconcile_mode = "down", "down"
    assert client.post("/api/sales", json=body, headers=auth()).status_code == 503
    fakes.reconcile_mode = "answer"
    settled = asyncio.run(client.app.state.checkout.reconcile(body["id"]))
    assert settled is not None and settled.status == 409
    assert fakes.payments[body["id"]]["status"] == "cancelled"
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "FAILED"
    assert helpers.outbox(client, "SaleCompleted") == []


def test_a_free_sale_needs_no_tender(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    r = client.post(
        "/api/sales", json=helpers.sale(tenders=[], discount={"kind": "percent", "value": 10000}), headers=auth("manager")
    )
    assert r.status_code == 201, r.text
    assert (r.json()["total_minor"], r.json()["tenders"]) == (0, [])
    assert fakes.capture_calls == []


def test_quote_prices_without_selling(client: TestClient, auth: Any) -> None:
    r = client.post(
        "/api/sales/quote",
        json={"outlet_id": OUTLET, "lines": [{"product_id": "mug", "qty": 1, "discount": {"kind": "percent", "value": 3000}}]},
        headers=auth(),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["total_minor"], r.json()["needs_approval"]) == (875, ["line 1 discount 375 of 1250"])


def test_other_outlets_do_not_exist_for_a_cashier(client: TestClient, auth: Any, helpers: Any) -> None:
    body = helpers.sale()
    assert client.post("/api/sales", json=body, headers=auth()).status_code == 201
    assert client.get(f"/api/sales/{body['id']}", headers=auth(outlets=["outlet-b"])).status_code == 404
    assert client.post("/api/sales", json={**helpers.sale(), "outlet_id": "outlet-b"}, headers=auth()).status_code == 404
    assert client.get(f"/api/sales/{body['id']}/receipt", headers=auth(outlets=["outlet-b"])).status_code == 404


def test_the_crash_fault_is_ignored_in_production(make_client: Any, auth: Any, helpers: Any) -> None:
    # (In development it exits the process: the crash test on the stack shows that.)
    secret = uuid.uuid4().hex
    with make_client(environment="production", internal_api_token=secret, fault_crash_after_capture=True) as prod:
        helpers.seed_prices(prod.app)
        helpers.seed_registers(prod.app)
        r = prod.post("/api/sales", json=helpers.sale(), headers=auth())
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("status", ["released", "expired", "consumed"])
def test_a_reservation_answer_other_than_held_fails_the_sale_before_payment(
    client: TestClient, auth: Any, helpers: Any, fakes: Any, status: str
) -> None:
    """Issue 12, finding 2: inventory answering a repeated reservation with the old one's
    status (released) was taken as reserved, and the sale completed without stock."""
    fakes.reserve_status = status
    body = helpers.sale()
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 409, r.text
    assert f"not held ({status})" in r.json()["detail"] and "nothing was charged" in r.json()["detail"]
    assert fakes.capture_calls == []
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "FAILED"
    assert helpers.outbox(client, "SaleCompleted") == []


def test_a_reservation_answer_without_a_status_is_retryable(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    fakes.reserve_status = ""
    body = helpers.sale()
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 503 and "nothing was charged" in r.json()["detail"], r.text
    assert fakes.capture_calls == []
    fakes.reserve_status = "held"
    again = client.post("/api/sales", json=body, headers=auth())
    assert again.status_code == 201, again.text
    assert len(helpers.outbox(client, "SaleCompleted")) == 1


@pytest.mark.parametrize("error", [502, 504])
def test_a_reservation_lost_in_a_gateway_is_released_by_its_attempt_and_a_repost_sells(
    client: TestClient, auth: Any, helpers: Any, fakes: Any, error: int
) -> None:
    """A gateway's 502/504 may hide a reservation request still on its way to inventory:
    sales releases that attempt by name (with the outlet, so inventory can refuse the
    request should it arrive later), and the till's re-post is a new attempt."""
    fakes.reserve_error = error
    body = helpers.sale()
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 503 and "nothing was charged" in r.json()["detail"], r.text
    first = fakes.reserve_attempts[-1]
    assert first and fakes.releases == [(body["id"], {"attempt": first, "outlet_id": body["outlet_id"]})]
    assert fakes.capture_calls == []
    fakes.reserve_error = None
    again = client.post("/api/sales", json=body, headers=auth())
    assert again.status_code == 201, again.text
    assert fakes.reserve_attempts[-1] not in (None, first)


def test_a_card_processor_that_cannot_be_reached_fails_the_sale_at_once_and_a_repost_sells_it(
    client: TestClient, auth: Any, helpers: Any, fakes: Any
) -> None:
    """Issue 12, finding 6: nothing was sent to the processor, so the outcome is known
    (nothing charged): the till gets a retryable 503 at once and the stock goes back,
    instead of a PENDING sale holding it until the reconciler (45 s)."""
    body = helpers.sale(tenders=[{"kind": "card", "amount_minor": 2500, "card_token": "pm_card_visa"}])
    fakes.mode, fakes.reconcile_mode = "card_down", "down"
    r = client.post("/api/sales", json=body, headers=auth())
    assert r.status_code == 503, r.text
    assert r.json()["detail"] == "the card processor cannot be reached: nothing was charged; try again or take another tender"
    assert "status" not in r.json()  # not PENDING: the till may post it again
    assert fakes.reservations[body["id"]] == "released"
    assert client.get(f"/api/sales/{body['id']}", headers=auth()).json()["status"] == "FAILED"
    assert helpers.outbox(client, "SaleCompleted") == []

    fakes.mode = "capture"  # the processor is back: the same sale id is sold, once
    again = client.post("/api/sales", json=body, headers=auth())
    assert again.status_code == 201, again.text
    assert fakes.reservations[body["id"]] == "held"
    assert fakes.payments[body["id"]]["status"] == "captured"
    assert len(helpers.outbox(client, "SaleCompleted")) == 1


def test_the_hops_carry_the_checkouts_request_id(client: TestClient, auth: Any, helpers: Any, fakes: Any) -> None:
    """One checkout, one request id in every service's logs: sales passes the id it was
    given (the gateway's X-Request-ID) to inventory and payments."""
    body = helpers.sale()
    r = client.post("/api/sales", json=body, headers={**auth(), "X-Request-ID": "till-req-42"})
    assert r.status_code == 201, r.text
    assert r.headers["x-request-id"] == "till-req-42"
    hops = {path for path, _ in fakes.request_ids}
    assert {"/api/inventory/reservations", "/api/payments/payments"} <= hops
    assert {rid for _, rid in fakes.request_ids} == {"till-req-42"}
