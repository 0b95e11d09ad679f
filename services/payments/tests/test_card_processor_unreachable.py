"""The card processor cannot be reached (issue 12, finding 6): every attempt failed
before anything was sent (connection refused, connect timeout), so nothing was charged.
The payment answers at once (503, status `unsent`) instead of staying pending; a repeat
of the capture once the processor is back charges the card once; reconciling an unsent
payment cancels it for good. An attempt that may have reached the processor (a read
timeout, a dropped connection) stays unknown (pending), as before."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pos_payments.app import create_app
from pos_payments.config import Settings
from pos_payments.sandbox.app import create_app as create_sandbox
from pos_payments.stripe import StripeProvider
from pos_payments.tables import payments
from pos_platform.bus import InProcessBus
from pos_platform.testing import mint_token, outbox_events

OUTLET = "outlet-a"
SERVICE_TOKEN = "test-internal-token"


class Processor(httpx.AsyncBaseTransport):
    """The sandbox processor behind a switch: `up`, or failing each request with
    `failure` (an httpx exception class) before (ConnectError) or after (ReadTimeout) it
    could have reached the processor; `answers` lets that many requests through first."""

    def __init__(self) -> None:
        self.app = create_sandbox(1.0)
        self.inner = httpx.ASGITransport(app=self.app)
        self.failure: type[httpx.TransportError] | None = None
        self.answers = 0
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.failure is not None and self.answers <= 0:
            if self.failure is httpx.ReadTimeout:
                await self.inner.handle_async_request(request)  # it got there; the answer is lost
            raise self.failure("card processor " + self.failure.__name__, request=request)
        self.answers -= 1
        return await self.inner.handle_async_request(request)

    def intents(self, payment_id: str) -> list[dict[str, Any]]:
        return [i for i in self.app.state.sandbox.intents.values() if i["metadata"].get("pos_payment_id") == payment_id]


@pytest.fixture
def processor() -> Processor:
    return Processor()


@pytest.fixture
def client(tmp_path: Path, keys: tuple[Path, Path], processor: Processor) -> Iterator[TestClient]:
    private, public = keys
    provider = StripeProvider(
        api_key="sk_test_sandbox",
        base_url="http://card-processor.test",
        transport=processor,
        timeout_seconds=0.5,
        attempts=4,
        backoff_seconds=0.01,
        backoff_max_seconds=0.05,
    )
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/card.db", jwt_public_key_file=str(public), internal_api_token=SERVICE_TOKEN
    )
    with TestClient(create_app(settings, bus=InProcessBus(), migrate_on_start=True, provider=provider)) as c:
        c.headers["Authorization"] = f"Bearer {mint_token(private, 'cashier', [OUTLET])}"
        yield c


def card_payment(amount: int = 1250, tenders: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    sale_id = str(uuid.uuid4())
    return {
        "payment_id": sale_id,
        "sale_id": sale_id,
        "outlet_id": OUTLET,
        "currency": "EUR",
        "amount_minor": amount,
        "tenders": tenders or [{"kind": "card", "amount_minor": amount, "card_token": "pm_card_visa"}],
    }


def captured_events(client: TestClient) -> list[dict[str, Any]]:
    return outbox_events(client, "PaymentCaptured")


def reconcile(client: TestClient, body: dict[str, Any]) -> httpx.Response:
    ref = {k: body[k] for k in ("sale_id", "outlet_id", "currency", "amount_minor")}
    return client.post(
        f"/api/payments/payments/{body['payment_id']}/reconcile", json=ref, headers={"X-POS-Service-Token": SERVICE_TOKEN}
    )


@pytest.mark.parametrize("failure", [httpx.ConnectError, httpx.ConnectTimeout])
def test_a_processor_that_cannot_be_reached_fails_fast_and_a_repeat_charges_once_it_is_back(
    client: TestClient, processor: Processor, failure: type[httpx.TransportError]
) -> None:
    body = card_payment()
    processor.failure = failure
    started = time.monotonic()
    r = client.post("/api/payments/payments", json=body)
    assert time.monotonic() - started < 3
    assert r.status_code == 503, r.text
    assert r.json()["detail"] == "the card processor cannot be reached: nothing was charged; try again or take another tender"
    assert r.json()["code"] == "card_processor_unreachable"
    assert (r.json()["payment"]["status"], r.json()["payment"]["tenders"][0]["status"]) == ("unsent", "pending")
    assert processor.requests == 4  # every attempt, none sent
    assert processor.intents(body["payment_id"]) == [] and captured_events(client) == []
    assert client.get(f"/api/payments/payments/{body['payment_id']}").json()["status"] == "unsent"

    # still down: the same answer, nothing charged
    assert client.post("/api/payments/payments", json=body).status_code == 503

    processor.failure = None
    again = client.post("/api/payments/payments", json=body)
    assert (again.status_code, again.json()["status"]) == (200, "captured"), again.text
    assert [(i["amount"], i["status"]) for i in processor.intents(body["payment_id"])] == [(1250, "succeeded")]
    assert len(captured_events(client)) == 1
    assert client.post("/api/payments/payments", json=body).json()["status"] == "captured"
    assert len(processor.intents(body["payment_id"])) == 1


def test_reconciling_an_unsent_payment_cancels_it_so_nothing_can_charge_it_later(
    client: TestClient, processor: Processor
) -> None:
    body = card_payment()
    processor.failure = httpx.ConnectError
    assert client.post("/api/payments/payments", json=body).status_code == 503
    processor.failure = None
    settled = reconcile(client, body)
    assert (settled.status_code, settled.json()["status"]) == (200, "cancelled"), settled.text
    assert "could not be reached" in settled.json()["detail"]
    late = client.post("/api/payments/payments", json=body)
    assert late.status_code == 409 and "nothing was charged" in late.json()["detail"]
    assert processor.intents(body["payment_id"]) == [] and captured_events(client) == []


def test_an_attempt_that_may_have_reached_the_processor_stays_unknown(client: TestClient, processor: Processor) -> None:
    body = card_payment()
    processor.failure = httpx.ReadTimeout
    r = client.post("/api/payments/payments", json=body)
    assert (r.status_code, r.json()["status"]) == (202, "pending"), r.text
    # refused connections afterwards do not make it "not sent": the first one got there
    processor.failure = httpx.ConnectError
    still = reconcile(client, body)
    assert (still.status_code, still.json()["status"]) == (200, "pending")
    processor.failure = None
    assert reconcile(client, body).json()["status"] == "captured"
    assert len(processor.intents(body["payment_id"])) == 1


def test_a_split_payment_with_a_card_already_captured_stays_unknown(client: TestClient, processor: Processor) -> None:
    body = card_payment(
        3000,
        [
            {"kind": "card", "amount_minor": 1000, "card_token": "pm_card_visa"},
            {"kind": "card", "amount_minor": 2000, "card_token": "pm_card_visa"},
        ],
    )
    processor.failure, processor.answers = httpx.ConnectError, 1  # the first card goes through, then the processor is gone
    r = client.post("/api/payments/payments", json=body)
    assert (r.status_code, r.json()["status"]) == (202, "pending"), r.text
    assert [t["status"] for t in r.json()["tenders"]] == ["captured", "pending"]
    processor.failure = None
    assert client.post("/api/payments/payments", json=body).json()["status"] == "captured"


def test_a_payment_another_request_is_still_driving_is_not_declared_unsent(client: TestClient, processor: Processor) -> None:
    """Two copies of one capture (sales' retry after a lost answer): while one may still
    be talking to the processor, the other's refused connections prove nothing."""
    body = card_payment()
    processor.failure = httpx.ConnectError
    assert client.post("/api/payments/payments", json=body).status_code == 503
    db = client.app.state.ctx.db
    with db.transaction() as uow:  # another request's charge is in flight
        uow.session.execute(payments.update().where(payments.c.id == body["payment_id"]).values(drives_in_flight=1))
    processor.failure = httpx.ConnectError
    r = client.post("/api/payments/payments", json=body)
    assert (r.status_code, r.json()["status"]) == (202, "pending"), r.text
    with db.transaction() as uow:  # it finished
        uow.session.execute(payments.update().where(payments.c.id == body["payment_id"]).values(drives_in_flight=0))
    assert client.post("/api/payments/payments", json=body).status_code == 503
