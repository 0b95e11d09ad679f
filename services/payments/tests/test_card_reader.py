"""Card tenders taken on the shop's card reader (ADR 0073): the reader sandbox's Terminal
API face (as the till speaks it), and payments capturing the reader's reference at its
acquirer, once, whatever the number of times it is asked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_payments.reader import ReaderProvider
from pos_payments.reader_sandbox.app import to_major, to_minor
from pos_platform.bus import InProcessBus
from pos_platform.testing import AuthHeaders, app_state, auth_headers

OUTLET = "outlet-a"
Auth = AuthHeaders


@pytest.fixture
def reader() -> ReaderProvider:
    return ReaderProvider(base_url="", timeout_seconds=0.5, attempts=2, backoff_seconds=0.01, backoff_max_seconds=0.02)


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path], reader: ReaderProvider) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/reader.db", jwt_public_key_file=str(keys[1]))
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True, reader=reader)) as c:
        yield c


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="cashier", outlets=[OUTLET])


def payment_request(amount: str, sale_tx: str, *, store_and_forward: bool = False, currency: str = "EUR") -> str:
    """A PaymentRequest as the till writes it: the amount a decimal number in the text."""
    sale_data: dict[str, Any] = {"SaleTransactionID": {"TransactionID": sale_tx, "TimeStamp": "2026-12-07T10:00:00.000Z"}}
    if store_and_forward:
        sale_data["SaleToAcquirerData"] = "storeAndForward=allowed"
    header = {
        "ProtocolVersion": "3.0",
        "MessageClass": "Service",
        "MessageCategory": "Payment",
        "MessageType": "Request",
        "SaleID": "R1",
        "ServiceID": sale_tx[:10],
        "POIID": "sandbox-reader",
    }
    text = json.dumps(
        {
            "SaleToPOIRequest": {
                "MessageHeader": header,
                "PaymentRequest": {
                    "SaleData": sale_data,
                    "PaymentTransaction": {"AmountsReq": {"Currency": currency, "RequestedAmount": "__AMOUNT__"}},
                },
            }
        }
    )
    return text.replace('"__AMOUNT__"', amount)


async def _reader_call(reader: ReaderProvider, path: str, content: str | dict[str, Any]) -> dict[str, Any]:
    assert reader.app is not None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=reader.app), base_url="http://reader") as http:
        body = content if isinstance(content, str) else json.dumps(content)
        response = await http.post(path, content=body, headers={"Content-Type": "application/json"})
        return response.json()


def take_on_reader(reader: ReaderProvider, amount: str, **kwargs: Any) -> dict[str, Any]:
    import asyncio

    return asyncio.run(_reader_call(reader, "/nexo", payment_request(amount, str(uuid.uuid4()), **kwargs)))["SaleToPOIResponse"]


def control(reader: ReaderProvider, **body: Any) -> None:
    import asyncio

    asyncio.run(_reader_call(reader, "/sandbox/reader", body))


def reference(response: dict[str, Any]) -> str:
    return response["PaymentResponse"]["POIData"]["POITransactionID"]["TransactionID"]


def reader_payment(amount: int, ref: str, **overrides: Any) -> dict[str, Any]:
    sale = str(uuid.uuid4())
    body = {
        "payment_id": sale,
        "sale_id": sale,
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": amount,
        "tenders": [{"kind": "card", "amount_minor": amount, "reader_ref": ref}],
    }
    body.update(overrides)
    return body


def captures(reader: ReaderProvider, ref: str) -> list[dict[str, Any]]:
    return app_state(reader.app).reader.payments[ref].captures


def test_amounts_cross_the_protocol_as_exact_decimals() -> None:
    from decimal import Decimal

    assert to_minor(Decimal("12.34"), "EUR") == 1234
    assert to_minor(Decimal("1500"), "JPY") == 1500
    assert to_minor(Decimal("1.234"), "KWD") == 1234
    assert str(to_major(1234, "EUR")) == "12.34"
    assert str(to_major(5, "EUR")) == "0.05"
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("12.345"), "EUR")


def test_an_approved_card_on_the_reader_is_captured_once(client: TestClient, auth: Auth, reader: ReaderProvider) -> None:
    answer = take_on_reader(reader, "12.34")
    result = answer["PaymentResponse"]
    assert result["Response"]["Result"] == "Success"
    assert result["PaymentResult"]["OnlineFlag"] is True
    assert result["PaymentResult"]["AmountsResp"]["AuthorizedAmount"] == 12.34
    ref = reference(answer)
    body = reader_payment(1234, ref)
    first = client.post("/api/payments/payments", json=body, headers=auth())
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "captured"
    assert first.json()["tenders"][0]["status"] == "captured"
    again = client.post("/api/payments/payments", json=body, headers=auth())
    assert again.status_code == 200
    assert len(captures(reader, ref)) == 1


def test_a_card_declined_online_never_reaches_payments(reader: ReaderProvider) -> None:
    control(reader, card="declined")
    answer = take_on_reader(reader, "5.00")
    assert answer["PaymentResponse"]["Response"]["Result"] == "Failure"
    assert answer["PaymentResponse"]["Response"]["ErrorCondition"] == "Refusal"


def test_offline_the_reader_stores_only_when_allowed(reader: ReaderProvider) -> None:
    control(reader, acquirer_link=False)
    refused = take_on_reader(reader, "5.00")
    assert refused["PaymentResponse"]["Response"]["ErrorCondition"] == "UnreachableHost"
    stored = take_on_reader(reader, "5.00", store_and_forward=True)["PaymentResponse"]
    assert stored["Response"]["Result"] == "Success"
    assert stored["PaymentResult"]["OnlineFlag"] is False
    assert "storedPayment=true" in stored["Response"]["AdditionalResponse"]


def test_a_stored_payment_declined_at_capture_is_a_decline_once(client: TestClient, auth: Auth, reader: ReaderProvider) -> None:
    control(reader, acquirer_link=False, card="insufficient_funds")
    ref = reference(take_on_reader(reader, "20.00", store_and_forward=True))
    control(reader, acquirer_link=True)
    body = reader_payment(2000, ref)
    declined = client.post("/api/payments/payments", json=body, headers=auth())
    assert declined.status_code == 402, declined.text
    assert declined.json()["decline_code"] == "not_enough_balance"
    again = client.post("/api/payments/payments", json=body, headers=auth())
    assert again.status_code == 402
    assert captures(reader, ref) == []


def test_a_reader_reference_captured_for_one_sale_is_not_taken_again_for_another(
    client: TestClient, auth: Auth, reader: ReaderProvider
) -> None:
    ref = reference(take_on_reader(reader, "3.00"))
    assert client.post("/api/payments/payments", json=reader_payment(300, ref), headers=auth()).status_code == 201
    other = client.post("/api/payments/payments", json=reader_payment(300, ref), headers=auth())
    assert other.status_code == 402
    assert other.json()["decline_code"] == "already_captured"
    assert len(captures(reader, ref)) == 1


def test_a_capture_for_another_amount_than_the_reader_took_is_refused(
    client: TestClient, auth: Auth, reader: ReaderProvider
) -> None:
    ref = reference(take_on_reader(reader, "3.00"))
    answer = client.post("/api/payments/payments", json=reader_payment(400, ref), headers=auth())
    assert answer.status_code == 402
    assert answer.json()["decline_code"] == "amount_mismatch"


def test_reader_tenders_are_refused_where_readers_are_not_set_up(tmp_path: Path, keys: tuple[Path, Path], auth: Auth) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/none.db", jwt_public_key_file=str(keys[1]), card_reader="none")
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        answer = c.post("/api/payments/payments", json=reader_payment(300, "psp_abcdef"), headers=auth())
    assert answer.status_code == 422
    assert "card readers are not set up" in answer.json()["detail"]


def test_a_reader_tender_has_no_card_token_too(client: TestClient, auth: Auth) -> None:
    body = reader_payment(300, "psp_abcdef")
    body["tenders"][0]["card_token"] = "pm_card_visa"
    answer = client.post("/api/payments/payments", json=body, headers=auth())
    assert answer.status_code == 422
    assert "either a card_token or a reader_ref" in answer.text
