"""Card tenders through the card provider interface, against the sandbox in process:
approval, decline, split, timeouts and 5xx (never a second charge), reconciliation,
and refunds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_payments.stripe import SandboxProvider
from pos_platform.bus import InProcessBus
from pos_platform.testing import AuthHeaders, app_state, auth_headers, outbox_events

OUTLET = "outlet-a"
SERVICE_TOKEN = "test-internal-token"

Auth = AuthHeaders


@pytest.fixture
def sandbox() -> SandboxProvider:
    return SandboxProvider(
        base_url="",
        default_card="pm_card_visa",
        sandbox_delay_seconds=1.5,
        timeout_seconds=0.3,
        attempts=4,
        backoff_seconds=0.01,
        backoff_max_seconds=0.05,
    )


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path], sandbox: SandboxProvider) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/card.db", jwt_public_key_file=str(keys[1]), internal_api_token=SERVICE_TOKEN
    )
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True, provider=sandbox)) as c:
        yield c


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="cashier", outlets=[OUTLET])


def card_payment(amount: int = 1250, card: str | None = "pm_card_visa", **overrides: Any) -> dict[str, Any]:
    tender: dict[str, Any] = {"kind": "card", "amount_minor": amount}
    if card:
        tender["card_token"] = card
    body = {
        "payment_id": str(uuid.uuid4()),
        "sale_id": str(uuid.uuid4()),
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": amount,
        "tenders": [tender],
    }
    body.update(overrides)
    return body


def intents(sandbox: SandboxProvider, payment_id: str) -> list[dict[str, Any]]:
    state = app_state(sandbox.app).sandbox
    return [i for i in state.intents.values() if i["metadata"].get("pos_payment_id") == payment_id]


def events(client: TestClient, type_: str) -> list[dict[str, Any]]:
    return outbox_events(client, type_)


def test_card_is_charged_once_with_the_providers_reference(client: TestClient, auth: Auth, sandbox: SandboxProvider) -> None:
    body = card_payment()
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 201, r.text
    tender = r.json()["tenders"][0]
    assert (r.json()["status"], tender["status"], tender["kind"]) == ("captured", "captured", "card")
    charged = intents(sandbox, body["payment_id"])
    assert [(i["id"], i["amount"], i["currency"], i["status"]) for i in charged] == [
        (tender["provider_ref"], 1250, "eur", "succeeded")
    ]
    assert [e["payload"]["tenders"] for e in events(client, "PaymentCaptured")] == [[{"kind": "card", "amount_minor": 1250}]]
    again = client.post("/api/payments/payments", json=body, headers=auth())
    assert (again.status_code, again.json()) == (200, r.json())
    assert len(intents(sandbox, body["payment_id"])) == 1


def test_card_without_a_token_uses_the_sandbox_terminal(client: TestClient, auth: Auth) -> None:
    r = client.post("/api/payments/payments", json=card_payment(card=None), headers=auth())
    assert (r.status_code, r.json()["status"]) == (201, "captured")


def test_declined_card_takes_nothing_and_answers_402_every_time(client: TestClient, auth: Auth, sandbox: SandboxProvider) -> None:
    body = card_payment(card="pm_card_chargeDeclinedInsufficientFunds")
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 402, r.text
    assert r.json()["decline_code"] == "insufficient_funds"
    assert "insufficient funds" in r.json()["detail"]
    assert r.json()["payment"]["status"] == "declined"
    assert events(client, "PaymentCaptured") == []
    again = client.post("/api/payments/payments", json=body, headers=auth())
    assert (again.status_code, again.json()) == (402, r.json())
    assert [i["amount_received"] for i in intents(sandbox, body["payment_id"])] == [0]


def test_split_cash_and_card(client: TestClient, auth: Auth) -> None:
    body = card_payment(
        amount=2000,
        tenders=[{"kind": "cash", "amount_minor": 500, "tendered_minor": 1000}, {"kind": "card", "amount_minor": 1500}],
    )
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 201, r.text
    assert [(t["kind"], t["status"], t["change_minor"]) for t in r.json()["tenders"]] == [
        ("cash", "captured", 500),
        ("card", "captured", 0),
    ]
    assert [e["payload"]["amount_minor"] for e in events(client, "PaymentCaptured")] == [2000]


def test_second_card_declined_gives_the_first_back(client: TestClient, auth: Auth, sandbox: SandboxProvider) -> None:
    body = card_payment(
        amount=3000,
        tenders=[
            {"kind": "card", "amount_minor": 1000, "card_token": "pm_card_visa"},
            {"kind": "card", "amount_minor": 2000, "card_token": "pm_card_chargeDeclined"},
        ],
    )
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 402, r.text
    assert [t["status"] for t in r.json()["payment"]["tenders"]] == ["reversed", "declined"]
    with_cash = card_payment(
        amount=1500,
        tenders=[
            {"kind": "cash", "amount_minor": 500},
            {"kind": "card", "amount_minor": 1000, "card_token": "pm_card_chargeDeclined"},
        ],
    )
    declined = client.post("/api/payments/payments", json=with_cash, headers=auth())
    assert [t["status"] for t in declined.json()["payment"]["tenders"]] == ["voided", "declined"]
    first = next(i for i in intents(sandbox, body["payment_id"]) if i["status"] == "succeeded")
    refunds = [x for x in app_state(sandbox.app).sandbox.refunds.values() if x["payment_intent"] == first["id"]]
    assert [x["amount"] for x in refunds] == [1000]


@pytest.mark.parametrize("card", ["pm_card_sandbox_timeoutOnce", "pm_card_sandbox_error500Once"])
def test_timeout_or_5xx_then_success_charges_once(client: TestClient, auth: Auth, sandbox: SandboxProvider, card: str) -> None:
    body = card_payment(card=card)
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert (r.status_code, r.json()["status"]) == (201, "captured"), r.text
    assert [i["amount_received"] for i in intents(sandbox, body["payment_id"])] == [1250]


def test_provider_down_leaves_the_payment_pending_then_reconcile_asks_again(
    client: TestClient, auth: Auth, sandbox: SandboxProvider
) -> None:
    body = card_payment(card="pm_card_sandbox_error500Always")
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert (r.status_code, r.json()["status"]) == (202, "pending"), r.text
    assert intents(sandbox, body["payment_id"]) == []
    reconcile = {k: body[k] for k in ("sale_id", "outlet_id", "currency", "amount_minor")}
    still = client.post(
        f"/api/payments/payments/{body['payment_id']}/reconcile", json=reconcile, headers={"X-POS-Service-Token": SERVICE_TOKEN}
    )
    assert (still.status_code, still.json()["status"]) == (200, "pending")
    assert events(client, "PaymentCaptured") == []


def test_reconciling_a_payment_never_made_cancels_it_for_good(client: TestClient, auth: Auth, sandbox: SandboxProvider) -> None:
    body = card_payment()
    reconcile = {k: body[k] for k in ("sale_id", "outlet_id", "currency", "amount_minor")}
    r = client.post(
        f"/api/payments/payments/{body['payment_id']}/reconcile", json=reconcile, headers={"X-POS-Service-Token": SERVICE_TOKEN}
    )
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    late = client.post("/api/payments/payments", json=body, headers=auth())
    assert late.status_code == 409, late.text
    assert "nothing was charged" in late.json()["detail"]
    assert intents(sandbox, body["payment_id"]) == []


def test_service_token_must_be_right(client: TestClient) -> None:
    r = client.get("/api/payments/payments", params={"sale_id": "x"}, headers={"X-POS-Service-Token": "wrong"})
    assert r.status_code == 401
    ok = client.get("/api/payments/payments", params={"sale_id": "x"}, headers={"X-POS-Service-Token": SERVICE_TOKEN})
    assert (ok.status_code, ok.json()) == (200, [])


def test_concurrent_copies_of_a_card_payment_charge_once(client: TestClient, auth: Auth, sandbox: SandboxProvider) -> None:
    body, headers = card_payment(card="pm_card_sandbox_timeoutOnce"), auth()
    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: client.post("/api/payments/payments", json=body, headers=headers), range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 201], [r.text for r in responses]
    assert len(intents(sandbox, body["payment_id"])) == 1
    assert len(events(client, "PaymentCaptured")) == 1


def refund(payment: dict[str, Any], tenders: list[dict[str, Any]], refund_id: str | None = None) -> dict[str, Any]:
    return {
        "refund_id": refund_id or str(uuid.uuid4()),
        "payment_id": payment["payment_id"],
        "outlet_id": OUTLET,
        "currency": "EUR",
        "tenders": tenders,
    }


def test_refunds_go_back_to_the_card_and_never_exceed_what_was_paid(
    client: TestClient, auth: Auth, sandbox: SandboxProvider
) -> None:
    body = card_payment(amount=3000, tenders=[{"kind": "cash", "amount_minor": 1000}, {"kind": "card", "amount_minor": 2000}])
    assert client.post("/api/payments/payments", json=body, headers=auth()).status_code == 201

    first = refund(body, [{"kind": "card", "amount_minor": 1500}])
    r = client.post("/api/payments/refunds", json=first, headers=auth())
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["amount_minor"], r.json()["tenders"][0]["provider_ref"][:3]) == ("refunded", 1500, "re_")
    again = client.post("/api/payments/refunds", json=first, headers=auth())
    assert (again.status_code, again.json()) == (200, r.json())

    too_much_card = client.post(
        "/api/payments/refunds", json=refund(body, [{"kind": "card", "amount_minor": 600}]), headers=auth()
    )
    assert too_much_card.status_code == 422 and "cash" in too_much_card.json()["detail"]
    too_much = client.post("/api/payments/refunds", json=refund(body, [{"kind": "cash", "amount_minor": 1501}]), headers=auth())
    assert too_much.status_code == 422 and "1500" in too_much.json()["detail"]

    rest = client.post(
        "/api/payments/refunds",
        json=refund(body, [{"kind": "card", "amount_minor": 500}, {"kind": "cash", "amount_minor": 1000}]),
        headers=auth(),
    )
    assert rest.status_code == 201, rest.text
    payment = client.get(f"/api/payments/payments/{body['payment_id']}", headers=auth()).json()
    assert (payment["status"], payment["refunded_minor"]) == ("refunded", 3000)
    assert [e["payload"]["amount_minor"] for e in events(client, "PaymentRefunded")] == [1500, 1500]
    card_intent = intents(sandbox, body["payment_id"])[0]
    refunded = [x["amount"] for x in app_state(sandbox.app).sandbox.refunds.values() if x["payment_intent"] == card_intent["id"]]
    assert sorted(refunded) == [500, 1500]


def test_a_failed_card_refund_makes_the_amount_refundable_again(client: TestClient, auth: Auth) -> None:
    body = card_payment(card="pm_card_sandbox_refundFails")
    assert client.post("/api/payments/payments", json=body, headers=auth()).status_code == 201
    r = client.post("/api/payments/refunds", json=refund(body, [{"kind": "card", "amount_minor": 1250}]), headers=auth())
    assert r.status_code == 422, r.text
    assert r.json()["refund"]["status"] == "failed"
    payment = client.get(f"/api/payments/payments/{body['payment_id']}", headers=auth()).json()
    assert (payment["status"], payment["refunded_minor"]) == ("captured", 0)
    cash = client.post("/api/payments/refunds", json=refund(body, [{"kind": "cash", "amount_minor": 1250}]), headers=auth())
    assert cash.status_code == 201
    assert events(client, "PaymentRefunded")[0]["payload"]["tenders"] == [{"kind": "cash", "amount_minor": 1250}]


def test_only_a_captured_payment_can_be_refunded(client: TestClient, auth: Auth) -> None:
    body = card_payment(card="pm_card_chargeDeclined")
    assert client.post("/api/payments/payments", json=body, headers=auth()).status_code == 402
    r = client.post("/api/payments/refunds", json=refund(body, [{"kind": "cash", "amount_minor": 100}]), headers=auth())
    assert r.status_code == 409
    missing = client.post(
        "/api/payments/refunds",
        json={**refund(body, [{"kind": "cash", "amount_minor": 100}]), "payment_id": "nope"},
        headers=auth(),
    )
    assert missing.status_code == 404
