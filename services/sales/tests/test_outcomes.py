"""Sales' use cases without FastAPI (ADR 0074): a plain command, a principal and a fake
approval port in, a typed outcome out; and the one mapping of outcomes to HTTP, which
is also what is stored with the row and replayed for a repeated id."""

from __future__ import annotations

import ast
import asyncio
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pos_platform.auth import ApprovalError, Principal
from pos_sales.idempotency import Answer
from pos_sales.offline import OfflineSync
from pos_sales.outcomes import (
    Declined,
    NeedsApproval,
    OutcomeUnknown,
    RecordedOnline,
    RefundCompleted,
    Refused,
    Replayed,
    SaleCompleted,
    StockShort,
    Unavailable,
    Voided,
    http_answer,
)
from pos_sales.schemas import OfflineSaleIn, RefundIn, SaleIn, VoidIn
from pos_sales.tables import refunds, sales
from pos_sales.voids import stored_void, void_cart

OUTLET = "outlet-a"
GOOD, FORGED, ACCESS = "good", "forged", "an access token"  # what the fake approval port takes
PACKAGE = Path(__file__).resolve().parents[1] / "pos_sales"


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (SaleCompleted({"sale_id": "s"}), 201),
        (RecordedOnline({"sale_id": "s", "recorded": "online"}), 200),
        (RefundCompleted({"refund_id": "r"}), 201),
        (Voided({"sale_id": "v"}), 201),
        (Declined({"detail": "payment declined"}), 402),
        (NeedsApproval({"detail": "a manager"}), 403),
        (Refused("not_found", {"detail": "no such sale"}), 404),
        (StockShort({"detail": "not enough stock"}), 409),
        (Refused("conflict", {"detail": "reused id"}), 409),
        (Refused("invalid", {"detail": "bad cart"}), 422),
        (Refused("invalid", {"detail": "inventory said 400"}, upstream=400), 400),
        (Refused("invalid", {"detail": "payments said no"}, upstream=None), 422),
        (Unavailable({"detail": "down"}), 503),
        (OutcomeUnknown({"detail": "not known", "status": "PENDING"}), 503),
    ],
)
def test_each_outcome_has_one_status_and_its_body_unchanged(outcome: Any, status: int) -> None:
    answer = http_answer(outcome)
    assert answer.status == status
    assert answer.body is next(v for v in vars(outcome).values() if isinstance(v, dict))


def test_a_replayed_answer_is_given_exactly_as_stored() -> None:
    # A row stored before (or by another rule): status and body as they are, even a
    # status the mapping would not give today.
    stored = Answer(418, {"detail": "as stored", "z": 1, "a": 2})
    assert http_answer(Replayed(stored)) is stored


USE_CASES = ("checkout.py", "refunds.py", "voids.py", "offline.py", "approval.py", "outcomes.py", "idempotency.py")


def test_the_use_cases_and_outcomes_do_not_import_fastapi() -> None:
    for name in USE_CASES:
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not {m for m in imported if m.split(".")[0] in ("fastapi", "starlette")} - {"starlette.concurrency"}, name


def test_no_use_case_chooses_an_http_status() -> None:
    # Statuses come from `http_answer` (outcomes.py) and the idempotency layer's own
    # answers; a use case builds an Answer only from a stored row's status.
    for name in ("checkout.py", "refunds.py", "voids.py", "offline.py", "approval.py"):
        tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
        chosen = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, int)
            and 100 <= node.args[0].value <= 599
            and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in ("Answer", "_Refused", "HTTPException")
        ]
        assert not chosen, f"{name} lines {chosen}"


@dataclass
class FakeApprovals:
    """The approval port: the token the till sent, and a verifier that takes only
    "good" (it remembers what it was asked)."""

    token: str | None = None
    manager: str = "boss"
    asked: list[dict[str, Any]] = field(default_factory=list)

    def verify(self, token: str, *, action: str, outlet_id: str, subject: str, requested_by: str) -> Principal:
        self.asked.append({"token": token, "action": action, "outlet_id": outlet_id, "subject": subject, "by": requested_by})
        if token != GOOD:
            raise ApprovalError("this is not an approval")
        signed = jwt.encode({"jti": uuid.uuid4().hex}, "not-verified-here-" * 2, algorithm="HS256")
        return Principal(user_id=self.manager, role="manager", outlets=[outlet_id], token=signed)


def cashier() -> Principal:
    return Principal(user_id="cashier-1", name="A cashier", role="cashier", outlets=[OUTLET], token=ACCESS)


def sale(**extra: Any) -> SaleIn:
    return SaleIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "outlet_id": OUTLET,
            "lines": [{"product_id": "mug", "qty": 2}],
            "tenders": [{"kind": "cash", "amount_minor": 5000}],
            **extra,
        }
    )


def stored(client: TestClient, table: Any, key: str) -> Answer:
    with client.app.state.ctx.db.transaction() as uow:
        row = uow.session.execute(select(table.c.http_status, table.c.answer).where(table.c.id == key)).one()
    return Answer(row.http_status, json.loads(row.answer))


def test_a_sale_with_a_large_discount_is_approved_through_the_port(client: TestClient, auth: Any) -> None:
    checkout = client.app.state.checkout
    body = sale(discount={"kind": "percent", "value": 5000})
    refused = asyncio.run(checkout.run(body, cashier(), FakeApprovals(token=None)))
    assert isinstance(refused, NeedsApproval) and refused.body["discounts"] == ["cart discount 1250 of 2500"]
    wrong = FakeApprovals(token=FORGED)
    assert isinstance(asyncio.run(checkout.run(body, cashier(), wrong)), NeedsApproval)
    assert wrong.asked == [{"token": "forged", "action": "discount", "outlet_id": OUTLET, "subject": body.id, "by": "cashier-1"}]

    done = asyncio.run(checkout.run(body, cashier(), FakeApprovals(token=GOOD)))
    assert isinstance(done, SaleCompleted)
    assert (done.receipt["approved_by"], done.receipt["total_minor"], done.receipt["status"]) == ("boss", 1250, "COMPLETED")
    # What was stored is what the mapping gives, and the route replays it as it is.
    assert stored(client, sales, body.id) == http_answer(done) == Answer(201, done.receipt)
    again = client.post("/api/sales", json=body.model_dump(mode="json", exclude_none=True), headers=auth())
    assert (again.status_code, again.json()) == (201, done.receipt)
    assert isinstance(asyncio.run(checkout.run(body, cashier(), FakeApprovals())), Replayed)


def test_a_declined_sale_is_stored_with_the_status_the_mapping_gives(client: TestClient, auth: Any, fakes: Any) -> None:
    fakes.mode = "decline"
    body = sale(tenders=[{"kind": "card", "amount_minor": 2500}])
    declined = asyncio.run(client.app.state.checkout.run(body, cashier(), FakeApprovals()))
    assert isinstance(declined, Declined)
    assert declined.body["decline_code"] == "generic_decline" and declined.body["sale_id"] == body.id
    assert stored(client, sales, body.id) == http_answer(declined) == Answer(402, declined.body)
    assert fakes.reservations[body.id] == "released"
    again = client.post("/api/sales", json=body.model_dump(mode="json", exclude_none=True), headers=auth())
    assert (again.status_code, again.json()) == (402, declined.body)


def test_a_refund_and_a_void_without_fastapi(client: TestClient) -> None:
    body = sale()
    assert isinstance(asyncio.run(client.app.state.checkout.run(body, cashier(), FakeApprovals())), SaleCompleted)
    desk = client.app.state.refund_desk
    refund = RefundIn.model_validate({"id": str(uuid.uuid4()), "reason": "broken"})
    assert isinstance(asyncio.run(desk.create(body.id, refund, cashier(), FakeApprovals())), NeedsApproval)
    done = asyncio.run(desk.create(body.id, refund, cashier(), FakeApprovals(token=GOOD)))
    assert isinstance(done, RefundCompleted)
    assert (done.slip["approved_by"], done.slip["total_minor"]) == ("boss", 2500)
    assert stored(client, refunds, refund.id) == http_answer(done)
    nothing_left = RefundIn.model_validate({"id": str(uuid.uuid4()), "reason": "again"})
    left = asyncio.run(desk.create(body.id, nothing_left, cashier(), FakeApprovals(token=GOOD)))
    assert isinstance(left, Refused) and (left.reason, http_answer(left).status) == ("conflict", 409)
    missing = asyncio.run(desk.create("no-such-sale", nothing_left, cashier(), FakeApprovals(token=GOOD)))
    assert isinstance(missing, Refused) and missing.reason == "not_found"

    ctx = client.app.state.ctx
    void = VoidIn.model_validate({"id": str(uuid.uuid4()), "outlet_id": OUTLET, "reason": "changed their mind"})
    assert isinstance(void_cart(ctx.db, ctx.settings, void, cashier(), FakeApprovals()), NeedsApproval)
    voided = void_cart(ctx.db, ctx.settings, void, cashier(), FakeApprovals(token=GOOD), source_ip="10.0.0.7")
    assert isinstance(voided, Voided) and voided.void["approved_by"] == "boss"
    assert stored(client, sales, void.id) == http_answer(voided)
    sold = VoidIn.model_validate({"id": body.id, "outlet_id": OUTLET, "reason": "too late"})
    completed = stored_void(ctx.db, sold)
    assert isinstance(completed, Refused) and "refund it instead" in completed.body["detail"]


def offline_sale(**extra: Any) -> OfflineSaleIn:
    """A mug sold offline on register 1 ten minutes ago, paid in cash."""
    return OfflineSaleIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "outlet_id": OUTLET,
            "register_id": "till-1",
            "receipt_number": "R1-OFF000001",
            "sold_at": "2026-01-01T10:00:00Z",
            "currency": "EUR",
            "lines": [
                {"product_id": "mug", "sku": "MUG", "name": "Mug", "qty": 1, "unit_price_minor": 1250}
                | {"tax_rate_bp": 2000, "tax_minor": 208, "total_minor": 1250}
            ],
            "total_minor": 1250,
            "tax_minor": 208,
            "tenders": [{"kind": "cash", "amount_minor": 1250, "tendered_minor": 2000}],
            "change_minor": 750,
            **extra,
        }
    )


def test_an_offline_sync_without_fastapi(client: TestClient, auth: Any) -> None:
    sync = OfflineSync(client.app.state.checkout)
    body = offline_sale()
    done = asyncio.run(sync.run(body, cashier()))
    assert isinstance(done, SaleCompleted)
    assert (done.receipt["offline"], done.receipt["receipt_number"], done.receipt["change_minor"]) == (True, "R1-OFF000001", 750)
    # Stored as the mapping gives it; the route and the use case replay it as stored.
    assert stored(client, sales, body.id) == http_answer(done) == Answer(201, done.receipt)
    again = client.post("/api/sales/offline", json=body.model_dump(mode="json", exclude_none=True), headers=auth())
    assert (again.status_code, again.json()) == (201, done.receipt)
    replayed = asyncio.run(sync.run(body, cashier()))
    assert isinstance(replayed, Replayed) and replayed.answer == http_answer(done)

    # Refused before anything is stored: a domain refusal, 422 by the one mapping.
    wrong = offline_sale(currency="USD")
    refused = asyncio.run(sync.run(wrong, cashier()))
    assert isinstance(refused, Refused) and refused.reason == "invalid"
    assert refused.body == {"detail": "the sale is in USD, the outlet sells in EUR"}
    routed = client.post("/api/sales/offline", json=wrong.model_dump(mode="json", exclude_none=True), headers=auth())
    assert (routed.status_code, routed.json()) == (422, refused.body)

    # The same id tried online first and completed there: that sale, answered 200.
    online = sale()
    sold = asyncio.run(client.app.state.checkout.run(online, cashier(), FakeApprovals()))
    assert isinstance(sold, SaleCompleted)
    recorded = asyncio.run(sync.run(offline_sale(id=online.id, receipt_number="R1-OFF000002"), cashier()))
    assert recorded == RecordedOnline({**sold.receipt, "recorded": "online"})
    assert http_answer(recorded).status == 200
