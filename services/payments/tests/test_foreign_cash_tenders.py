"""A foreign-cash tender at capture (ADR 0061): taken only at the rate in force for the
pair, with amounts that follow from it; stored with its currency, foreign amount, rate,
source and date, and PaymentCaptured carries them; refused (409) when the rates are stale
with no manual rate, nothing stored; a refund is paid in the payment's currency (cash
from the drawer)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_platform.bus import InProcessBus
from pos_platform.testing import app_state, mint_token, outbox_events

OUTLET = "outlet-a"
Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def auth(keys: tuple[Path, Path]) -> Auth:
    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(keys[0], role, [OUTLET], name=f'Test {role}')}"}

    return headers


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[TestClient]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/payments.db",
        jwt_public_key_file=str(keys[1]),
        rates_provider="sandbox",
        rates_sandbox_url="",
        rates_refresh_interval_seconds=0,
        rates_attempts=1,
    )
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True)) as c:
        yield c


def set_rates(client: TestClient, auth: Auth, days_old: int, rates: dict[str, str]) -> None:
    sandbox = app_state(app_state(client).rates.provider.app).sandbox
    sandbox.rates = rates
    sandbox.reference_date = datetime.now(UTC).date() - timedelta(days=days_old)
    r = client.post("/api/payments/rates/refresh", headers=auth("manager"))
    assert r.status_code == 200, r.text


def foreign(
    amount: int, handed: int, change: int, rate: str = "1.0812", source: str = "sandbox", as_of: str = "2026-12-07"
) -> dict[str, Any]:
    return {"kind": "foreign_cash", "amount_minor": amount, "currency": "USD", "foreign_minor": handed, "change_minor": change,
            "rate": rate, "rate_source": source, "rate_as_of": as_of}  # fmt: skip


def captured(client: TestClient, payment_id: str) -> dict[str, Any]:
    """The PaymentCaptured payload of a payment, as consumers receive it."""
    (event,) = [e for e in outbox_events(client, "PaymentCaptured") if e["payload"]["payment_id"] == payment_id]
    assert event["version"] == 1
    return event["payload"]


def event_tender(tender: dict[str, Any]) -> dict[str, Any]:
    """What PaymentCaptured should say of a foreign-cash tender the till sent: the same
    figures, under the names SaleCompleted's tenders use."""
    keys = ("kind", "amount_minor", "currency", "foreign_minor", "rate", "rate_source", "rate_as_of", "change_minor")
    return {k: tender[k] for k in keys}


def payment(tenders: list[dict[str, Any]], amount: int = 2500) -> dict[str, Any]:
    sale = str(uuid.uuid4())
    return {
        "payment_id": sale,
        "sale_id": sale,
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": amount,
        "tenders": tenders,
    }


def test_a_foreign_tender_is_taken_at_the_rate_in_force_and_stored_with_it(client: TestClient, auth: Auth) -> None:
    set_rates(client, auth, 1, {"USD": "1.0812"})
    body = payment([foreign(2500, 3000, 275)])
    r = client.post("/api/payments/payments", json=body, headers=auth("cashier"))
    assert r.status_code == 201, r.text
    (tender,) = r.json()["tenders"]
    assert (tender["kind"], tender["currency"], tender["foreign_minor"], tender["rate"], tender["rate_source"]) == (
        "foreign_cash",
        "USD",
        3000,
        "1.0812",
        "sandbox",
    )
    assert (tender["change_minor"], tender["tendered_minor"], r.json()["change_minor"]) == (275, 2775, 275)
    stored = client.get(f"/api/payments/payments/{body['payment_id']}", headers=auth("cashier")).json()
    assert stored["tenders"][0]["rate"] == "1.0812" and stored["tenders"][0]["rate_as_of"] == "2026-12-07"
    # The event carries the tender's foreign figures, as SaleCompleted does.
    event = captured(client, body["payment_id"])
    assert event["tenders"] == [event_tender(body["tenders"][0])]
    assert (event["currency"], event["amount_minor"], event["taken_at"]) == ("EUR", 2500, None)
    # A refund of it is paid in euros from the drawer, the sale's amounts (not today's rate).
    set_rates(client, auth, 0, {"USD": "1.2000"})
    refund = client.post(
        "/api/payments/refunds",
        json={
            "refund_id": str(uuid.uuid4()),
            "payment_id": body["payment_id"],
            "outlet_id": OUTLET,
            "currency": "EUR",
            "tenders": [{"kind": "cash", "amount_minor": 1250}],
        },
        headers=auth("manager"),
    )
    assert refund.status_code == 201, refund.text
    assert (refund.json()["currency"], refund.json()["amount_minor"]) == ("EUR", 1250)
    # A part payment with a card: 20 USD credited 18.49 EUR, no change.
    split_body = payment([foreign(1666, 2000, 0, rate="1.2000"), {"kind": "card", "amount_minor": 834}])
    split = client.post("/api/payments/payments", json=split_body, headers=auth("cashier"))
    assert split.status_code == 201, split.text
    # Captured once the card is: the foreign part with its figures (no change), the card as before.
    assert split.json()["status"] == "captured"
    assert captured(client, split_body["payment_id"])["tenders"] == [
        {k: v for k, v in event_tender(split_body["tenders"][0]).items() if k != "change_minor"},
        {"kind": "card", "amount_minor": 834},
    ]


def test_a_rate_or_arithmetic_the_payments_service_would_not_give_is_refused(client: TestClient, auth: Auth) -> None:
    set_rates(client, auth, 1, {"USD": "1.0812"})
    made_up = client.post(
        "/api/payments/payments", json=payment([foreign(2500, 3000, 275, rate="1.5000")]), headers=auth("cashier")
    )
    assert made_up.status_code == 409 and "rate changed while the sale was being paid" in made_up.json()["detail"]
    other_source = client.post(
        "/api/payments/payments", json=payment([foreign(2500, 3000, 275, source="ecb")]), headers=auth("cashier")
    )
    assert other_source.status_code == 409
    too_much_change = client.post("/api/payments/payments", json=payment([foreign(2500, 3000, 400)]), headers=auth("cashier"))
    assert (
        too_much_change.status_code == 422
        and "does not follow the rounding rules (change 275 expected)" in too_much_change.json()["detail"]
    )
    short = client.post("/api/payments/payments", json=payment([foreign(2500, 2000, 0)]), headers=auth("cashier"))
    assert short.status_code == 422
    missing = client.post(
        "/api/payments/payments", json=payment([{"kind": "foreign_cash", "amount_minor": 2500}]), headers=auth("cashier")
    )
    assert missing.status_code == 422 and "carries currency" in missing.text


def test_stale_rates_without_a_manual_rate_refuse_the_tender_and_store_nothing(client: TestClient, auth: Auth) -> None:
    set_rates(client, auth, 6, {"USD": "1.0812"})
    body = payment([foreign(2500, 3000, 275)])
    r = client.post("/api/payments/payments", json=body, headers=auth("cashier"))
    assert r.status_code == 409, r.text
    assert "6 days old" in r.json()["detail"] and "foreign cash" in r.json()["detail"]
    assert client.get(f"/api/payments/payments/{body['payment_id']}", headers=auth("cashier")).status_code == 404
    # A manager's manual rate makes it usable again, and it is what gets stamped.
    manual = client.post(
        "/api/payments/rates/manual",
        json={"base": "EUR", "quote": "USD", "rate": "1.0850", "reason": "feed down, bank board rate"},
        headers=auth("manager"),
    )
    assert manual.status_code in (200, 201), manual.text
    ok = client.post(
        "/api/payments/payments",
        json=payment([foreign(2500, 3000, 265, rate="1.0850", source="manual")]),
        headers=auth("cashier"),
    )
    assert ok.status_code == 201, ok.text


from decimal import Decimal  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pos_payments.domain import foreign_tender_problem  # noqa: E402
from pos_platform.conversion import foreign_part  # noqa: E402
from pos_platform.currencies import currency  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    pair=st.sampled_from([("EUR", "USD"), ("EUR", "JPY"), ("EUR", "CHF"), ("CHF", "EUR"), ("SEK", "EUR"), ("EUR", "KWD")]),
    rate=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5000"), places=4).filter(lambda d: d > 0),
    remaining=st.integers(1, 10**7),
    handed=st.integers(1, 10**8),
    nudge=st.integers(1, 50),
)
def test_what_sales_settles_payments_accepts_and_nothing_else(
    pair: tuple[str, str], rate: Decimal, remaining: int, handed: int, nudge: int
) -> None:
    """Sales settles a foreign tender with pos_platform.conversion.foreign_part; payments
    checks the figures it is sent with foreign_tender_problem: every settlement sales can
    make is accepted, and any other change is refused. (A tender of `credit` may be read
    two ways, a part payment with no change or the settlement of a remainder of exactly
    `credit`; payments accepts the change of either, nothing else.)"""
    local, foreign = pair
    unit = currency(foreign).cash_unit_minor
    handed = max(handed - handed % unit, unit)
    part = foreign_part(remaining, local, foreign, rate, handed)
    if part.credit_minor <= 0:
        return  # sales refuses it (worth less than a minor unit)
    assert foreign_tender_problem(part.credit_minor, local, foreign, rate, handed, part.change_minor) is None
    as_settlement = foreign_part(part.credit_minor, local, foreign, rate, handed)
    valid = {part.change_minor} | ({as_settlement.change_minor} if as_settlement.settled else set())
    other = part.change_minor + nudge
    assert (foreign_tender_problem(part.credit_minor, local, foreign, rate, handed, other) is None) == (other in valid)


def test_foreign_cash_a_till_took_offline_is_recorded_at_its_rate_whatever_is_in_force_now(
    client: TestClient, auth: Auth
) -> None:
    """Issue 16 offline (ADR 0061 amendment): the money changed hands at the till's cached
    rate; payments records it at that rate (sales lists a stale one), the arithmetic
    still checked."""
    set_rates(client, auth, 6, {"USD": "1.2000"})  # stale now, and another rate
    body = payment([foreign(2500, 3000, 275, source="ecb", as_of="2026-12-01")]) | {"taken_at": "2026-12-02T10:00:00Z"}
    r = client.post("/api/payments/payments", json=body, headers=auth("cashier"))
    assert r.status_code == 201, r.text
    (tender,) = r.json()["tenders"]
    assert (tender["currency"], tender["foreign_minor"], tender["rate"], tender["rate_source"], tender["rate_as_of"]) == (
        "USD",
        3000,
        "1.0812",
        "ecb",
        "2026-12-01",
    )
    assert (tender["change_minor"], tender["tendered_minor"]) == (275, 2775)
    # The event: the till's figures and rate, counted on the day the money was taken.
    event = captured(client, body["payment_id"])
    assert event["tenders"] == [event_tender(body["tenders"][0])]
    assert event["taken_at"] == "2026-12-02T10:00:00Z"
    again = client.post("/api/payments/payments", json=body, headers=auth("cashier"))
    assert again.status_code == 200 and again.json()["payment_id"] == body["payment_id"]
    wrong = payment([foreign(2500, 3000, 400, source="ecb")]) | {"taken_at": "2026-12-02T10:00:00Z"}
    refused = client.post("/api/payments/payments", json=wrong, headers=auth("cashier"))
    assert refused.status_code == 422 and "change 275 expected" in refused.json()["detail"]
