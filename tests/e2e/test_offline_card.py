"""Deferred card capture (ADR 0073) on the local stack, through nginx: cards a till took
offline on the shop's card reader (the reader sandbox, its own process, storing them)
are captured by payments when the sales sync, once however often the sync is sent; a
card the issuer declines at capture leaves the sale recorded and lists what is owed."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.test_checkout_helpers import Shop, checkout_stack, eventually, gateway_port, make_shop  # noqa: F401 (fixture)
from tests.e2e.test_offline_sync import offline_sale
from tests.stack_fixture import Stack

pytestmark = pytest.mark.e2e


def reader_url() -> str:
    """The stack's card reader sandbox (scripts/stack.py: port base + 36)."""
    return f"http://127.0.0.1:{gateway_port() + 56}"


def take_stored_card(card: str, amount: str) -> str:
    """A card presented to the reader with its link to the acquirer down: the reader
    keeps it (store-and-forward) and answers with its reference."""
    with httpx.Client(base_url=reader_url(), timeout=10) as reader:
        reader.post("/sandbox/reader", json={"card": card, "acquirer_link": False}).raise_for_status()
        text = json.dumps(
            {
                "SaleToPOIRequest": {
                    "MessageHeader": {"MessageCategory": "Payment", "MessageType": "Request", "ServiceID": "e2e"},
                    "PaymentRequest": {
                        "SaleData": {
                            "SaleTransactionID": {"TransactionID": str(uuid.uuid4()), "TimeStamp": "2026-12-07T10:00:00Z"},
                            "SaleToAcquirerData": "storeAndForward=allowed",
                        },
                        "PaymentTransaction": {"AmountsReq": {"Currency": "EUR", "RequestedAmount": "@"}},
                    },
                }
            }
        ).replace('"@"', amount)
        answer = reader.post("/nexo", content=text, headers={"Content-Type": "application/json"}).json()
        reader.post("/sandbox/reader", json={"card": "visa", "acquirer_link": True}).raise_for_status()
    response = answer["SaleToPOIResponse"]["PaymentResponse"]
    assert response["Response"]["Result"] == "Success", response
    assert response["PaymentResult"]["OnlineFlag"] is False
    return str(response["POIData"]["POITransactionID"]["TransactionID"])


def reader_captures(ref: str) -> list[dict[str, Any]]:
    return httpx.get(f"{reader_url()}/sandbox/payments/{ref}", timeout=10).raise_for_status().json()["captures"]


def card_sale(shop: Shop, register: dict[str, Any], number: int, ref: str, price: int) -> dict[str, Any]:
    """test_offline_sync's receipt of one line, paid on the reader instead of in cash."""
    sale = offline_sale(shop, register, number, datetime.now(UTC) - timedelta(minutes=30), "beans", price)
    return {
        **sale,
        "tenders": [{"kind": "card", "amount_minor": price, "tendered_minor": price, "reader_ref": ref}],
        "change_minor": 0,
    }


def test_cards_taken_offline_are_captured_once_at_the_sync_and_a_decline_is_listed(checkout_stack: Stack) -> None:  # noqa: F811
    shop = make_shop(checkout_stack)
    shop.add_product("beans", 1250, 10)
    register = shop.add_register("reader")
    probe = {
        "outlet_id": shop.outlet["id"],
        "register_id": register["id"],
        "lines": [{"product_id": shop.products["beans"]["id"], "qty": 1}],
    }
    eventually(
        lambda: shop.cashier.post("/api/sales/quote", json=probe).status_code == 200, "sales to know the register", timeout=60
    )
    url = f"/api/sales/outlets/{shop.outlet['id']}/settings"
    settings = shop.manager.get(url).raise_for_status().json()
    shop.manager.put(
        url,
        json={
            **settings,
            "card_reader_url": f"{reader_url()}/nexo",
            "offline_card_allowed": True,
            "offline_card_max_sale_minor": 5000,
            "offline_card_max_device_minor": 20000,
        },
    ).raise_for_status()

    approved = card_sale(shop, register, 1, take_stored_card("visa", "12.50"), 1250)
    declined = card_sale(shop, register, 2, take_stored_card("insufficient_funds", "12.50"), 1250)

    def sync(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        r = shop.cashier.post("/api/sales/offline", json=body)
        return r.status_code, r.json()

    # Two tabs sending the same queue, then once more (the answers lost): one capture.
    with ThreadPoolExecutor(max_workers=2) as tabs:
        first, second = tabs.map(lambda _: [sync(approved), sync(declined)], range(2))
    assert first == second
    assert [sync(approved), sync(declined)] == first
    (ok_status, ok_receipt), (declined_status, declined_receipt) = first
    assert ok_status == 201, ok_receipt
    assert ok_receipt["tenders"][0]["capture"] == "deferred"
    assert "card_declined_after_sale" not in ok_receipt or ok_receipt["card_declined_after_sale"] is None
    assert declined_status == 201, declined_receipt
    assert declined_receipt["card_declined_after_sale"] == {"owed_minor": 1250, "decline_code": "not_enough_balance"}

    ref = approved["tenders"][0]["reader_ref"]
    assert len(reader_captures(ref)) == 1
    assert reader_captures(declined["tenders"][0]["reader_ref"]) == []
    [payment] = shop.manager.get("/api/payments/payments", params={"sale_id": approved["id"]}).raise_for_status().json()
    assert (payment["status"], payment["amount_minor"], payment["tenders"][0]["status"]) == ("captured", 1250, "captured")
    [refused] = shop.manager.get("/api/payments/payments", params={"sale_id": declined["id"]}).raise_for_status().json()
    assert refused["status"] == "declined"

    for body in (approved, declined):
        assert shop.cashier.get(f"/api/sales/{body['id']}").json()["status"] == "COMPLETED"
    found = shop.manager.get("/api/sales/sync-exceptions", params={"outlet_id": shop.outlet["id"]}).json()
    assert [(e["receipt_number"], e["kind"], e["facts"][0]["owed_minor"]) for e in found] == [
        (declined["receipt_number"], "card_declined_after_sale", 1250)
    ]
