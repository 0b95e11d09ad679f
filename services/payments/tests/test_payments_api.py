"""Payments API, in process: real app, SQLite file, in-process bus, locally minted tokens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_payments.stripe import SandboxProvider
from pos_platform.bus import InProcessBus
from pos_platform.testing import AuthHeaders, auth_headers, outbox_events

OUTLET = "outlet-a"
OTHER_OUTLET = "outlet-b"

Auth = AuthHeaders


@pytest.fixture
def sandbox() -> SandboxProvider:
    """The card sandbox in process, with short timeouts so the fault cards are quick."""
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
    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", jwt_public_key_file=str(keys[1]))
    app = create_app(settings, bus=InProcessBus(), migrate_on_start=True, provider=sandbox)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    return auth_headers(keys[0], role="cashier", outlets=[OUTLET])


def payment(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "payment_id": str(uuid.uuid4()),
        "sale_id": str(uuid.uuid4()),
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": 1250,
        "tenders": [{"kind": "cash", "amount_minor": 1250, "tendered_minor": 2000}],
    }
    body.update(overrides)
    return body


def test_cash_payment_is_captured_with_change_and_published(client: TestClient, auth: Auth) -> None:
    body = payment()
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out == {
        "payment_id": body["payment_id"],
        "sale_id": body["sale_id"],
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": 1250,
        "status": "captured",
        "tenders": [
            {
                "kind": "cash",
                "amount_minor": 1250,
                "tendered_minor": 2000,
                "change_minor": 750,
                "status": "captured",
                "provider_ref": None,
                "decline_code": None,
                "refunded_minor": 0,
                # foreign_cash only (test_foreign_cash_tenders.py)
                "currency": None,
                "foreign_minor": None,
                "rate": None,
                "rate_source": None,
                "rate_as_of": None,
            }
        ],
        "change_minor": 750,
        "refunded_minor": 0,
        "decline_code": None,
        "detail": None,
    }

    events = [e for e in outbox_events(client) if e["type"] == "PaymentCaptured"]
    assert len(events) == 1
    event = events[0]
    assert event["routing_key"] == "payments.PaymentCaptured"
    assert event["outlet_id"] == OUTLET
    assert event["payload"] == {
        "payment_id": body["payment_id"],
        "sale_id": body["sale_id"],
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": 1250,
        "tenders": [{"kind": "cash", "amount_minor": 1250}],
        "taken_at": None,
    }

    got = client.get(f"/api/payments/payments/{body['payment_id']}", headers=auth())
    assert got.status_code == 200 and got.json() == out
    found = client.get("/api/payments/payments", params={"sale_id": body["sale_id"]}, headers=auth())
    assert found.status_code == 200 and found.json() == [out]


def test_tendered_defaults_to_amount_and_split_cash(client: TestClient, auth: Auth) -> None:
    body = payment(
        amount_minor=1000,
        tenders=[{"kind": "cash", "amount_minor": 600}, {"kind": "cash", "amount_minor": 400, "tendered_minor": 500}],
    )
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 201, r.text
    assert [(t["tendered_minor"], t["change_minor"]) for t in r.json()["tenders"]] == [(600, 0), (500, 100)]
    assert r.json()["change_minor"] == 100


def test_same_payment_id_again_returns_the_stored_payment(client: TestClient, auth: Auth) -> None:
    body = payment()
    first = client.post("/api/payments/payments", json=body, headers=auth())
    again = client.post("/api/payments/payments", json=body, headers=auth())
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json() == first.json()
    assert len([e for e in outbox_events(client) if e["type"] == "PaymentCaptured"]) == 1


def test_concurrent_repeats_record_one_payment(client: TestClient, auth: Auth) -> None:
    body, headers = payment(), auth()
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: client.post("/api/payments/payments", json=body, headers=headers), range(6)))
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 200, 201]
    assert len({r.text for r in responses}) == 1
    assert len([e for e in outbox_events(client) if e["type"] == "PaymentCaptured"]) == 1


def test_same_payment_id_for_a_different_payment_is_a_conflict(client: TestClient, auth: Auth) -> None:
    body = payment()
    assert client.post("/api/payments/payments", json=body, headers=auth()).status_code == 201
    changed = {**body, "amount_minor": 999, "tenders": [{"kind": "cash", "amount_minor": 999}]}
    r = client.post("/api/payments/payments", json=changed, headers=auth())
    assert r.status_code == 409
    assert r.json()["detail"] == "payment id already used for a different payment"
    other_sale = {**body, "sale_id": str(uuid.uuid4())}
    assert client.post("/api/payments/payments", json=other_sale, headers=auth()).status_code == 409


def test_second_payment_for_the_same_sale_is_a_conflict(client: TestClient, auth: Auth) -> None:
    body = payment()
    assert client.post("/api/payments/payments", json=body, headers=auth()).status_code == 201
    r = client.post("/api/payments/payments", json={**body, "payment_id": str(uuid.uuid4())}, headers=auth())
    assert r.status_code == 409
    assert body["payment_id"] in r.json()["detail"]


def test_tenders_must_add_up_to_the_amount(client: TestClient, auth: Auth) -> None:
    body = payment(amount_minor=1250, tenders=[{"kind": "cash", "amount_minor": 1200}])
    r = client.post("/api/payments/payments", json=body, headers=auth())
    assert r.status_code == 422
    assert "1200" in r.json()["detail"] and "1250" in r.json()["detail"]
    assert outbox_events(client) == []


def test_card_is_refused_when_no_card_provider_is_set_up(tmp_path: Path, keys: tuple[Path, Path], auth: Auth) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/none.db", jwt_public_key_file=str(keys[1]), card_provider="none")
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        r = c.post("/api/payments/payments", json=payment(tenders=[{"kind": "card", "amount_minor": 1250}]), headers=auth())
        assert r.status_code == 422
        assert r.json()["detail"] == "card payments are not set up here: take cash"
        assert outbox_events(c) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount_minor": 12.5},
        {"amount_minor": 0},
        {"currency": "eur"},
        {"tenders": []},
        {"tenders": [{"kind": "cash", "amount_minor": 1250, "tendered_minor": 1000}]},
        {"tenders": [{"kind": "card", "amount_minor": 1250, "tendered_minor": 1250}]},
        {"tenders": [{"kind": "voucher", "amount_minor": 1250}]},
        {"tenders": [{"kind": "cash", "amount_minor": 1250, "card_token": "pm_card_visa"}]},
        {"tenders": [{"kind": "card", "amount_minor": 1250, "card_token": "pm card; drop"}]},
        {"tip_minor": 100},
    ],
)
def test_invalid_requests_are_refused(client: TestClient, auth: Auth, overrides: dict[str, object]) -> None:
    assert client.post("/api/payments/payments", json=payment(**overrides), headers=auth()).status_code == 422


def test_other_outlets_payments_do_not_exist_for_the_caller(client: TestClient, auth: Auth) -> None:
    r = client.post("/api/payments/payments", json=payment(outlet_id=OTHER_OUTLET), headers=auth())
    assert r.status_code == 404

    body = payment(outlet_id=OTHER_OUTLET)
    assert client.post("/api/payments/payments", json=body, headers=auth(outlets=[OTHER_OUTLET])).status_code == 201
    assert client.get(f"/api/payments/payments/{body['payment_id']}", headers=auth()).status_code == 404
    found = client.get("/api/payments/payments", params={"sale_id": body["sale_id"]}, headers=auth())
    assert found.status_code == 200 and found.json() == []
    admin = auth("admin", outlets=[])
    assert client.get(f"/api/payments/payments/{body['payment_id']}", headers=admin).status_code == 200


def test_a_token_is_required(client: TestClient) -> None:
    assert client.post("/api/payments/payments", json=payment()).status_code == 401
    assert client.get("/api/payments/payments/x").status_code == 401
    assert client.get("/api/payments/payments", params={"sale_id": "x"}).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_cash_taken_offline_is_published_with_when_it_was_taken(client: TestClient, auth: Auth) -> None:
    """Issue 15: a till that sold offline syncs the sale later; the cash counts on the
    day it was taken, not the day it was recorded."""
    body = payment(amount_minor=500, tenders=[{"kind": "cash", "amount_minor": 500}], taken_at="2026-03-11T18:30:00Z")
    assert client.post("/api/payments/payments", json=body, headers=auth()).status_code == 201
    event = [e for e in outbox_events(client) if e["type"] == "PaymentCaptured"][-1]
    assert event["payload"]["taken_at"] == "2026-03-11T18:30:00Z"
    bad = payment(amount_minor=500, tenders=[{"kind": "cash", "amount_minor": 500}], taken_at="last tuesday")
    assert client.post("/api/payments/payments", json=bad, headers=auth()).status_code == 422
