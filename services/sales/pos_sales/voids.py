"""Voiding a cart before payment (a parked one, or the one on the till): recorded as a
VOIDED sale with its reason and approving manager, SaleVoided published; nothing
charged, no stock moved. Idempotent by the till's id.

A use case like checkout and refunds (ADR 0074): a plain command (the void, the
principal, an approval port) in, a typed outcome out; the route maps it to HTTP.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pos_contracts.events import SaleVoided
from pos_platform.auth import Principal
from pos_platform.db import Database, UnitOfWork, utcnow
from pos_sales import audit, outlet_policy, registers
from pos_sales.approval import Approval, ApprovalPort, ApprovalRequired, approve, record_use
from pos_sales.checkout import price, sale_line_rows
from pos_sales.config import Settings
from pos_sales.domain import CheckoutError
from pos_sales.idempotency import Answer
from pos_sales.outcomes import NeedsApproval, Outcome, Refused, Replayed, Unavailable, Voided, http_answer
from pos_sales.schemas import CartIn, VoidIn
from pos_sales.shifts import current_shift_id
from pos_sales.tables import parked_carts, sale_lines, sales


def void_hash(body: VoidIn) -> str:
    return hashlib.sha256(body.model_dump_json(exclude={"id", "approved_by"}, exclude_none=True).encode()).hexdigest()


def stored_void(db: Database, body: VoidIn) -> Outcome | None:
    """The answer a repeated void id gets (the void as recorded, or why the id cannot be
    voided); None for a new id."""
    with db.transaction() as uow:
        return _stored_void(uow, body, void_hash(body))


def _stored_void(uow: UnitOfWork, body: VoidIn, digest: str) -> Outcome | None:
    row = uow.session.execute(
        select(sales.c.status, sales.c.request_hash, sales.c.answer, sales.c.http_status).where(sales.c.id == body.id)
    ).first()
    if row is None:
        return None
    if row.status == "VOIDED" and row.request_hash == digest:
        return Replayed(Answer(row.http_status, json.loads(row.answer)))
    if row.status == "COMPLETED":
        return Refused("conflict", {"detail": "this sale is completed: refund it instead of voiding it"})
    if row.status == "PENDING":
        return Refused("conflict", {"detail": "this sale is being paid: it cannot be voided now"})
    return Refused("conflict", {"detail": f"this id was already used ({row.status})"})


def void_cart(
    db: Database,
    settings: Settings,
    body: VoidIn,
    principal: Principal,
    approvals: ApprovalPort,
    *,
    source_ip: str | None = None,
) -> Outcome:
    """Void a new id (the route has answered a repeated one with `stored_void` and
    checked the outlet): a register of the outlet (a deactivated one may still void what
    it had on it), a manager's approval, then the void recorded in one transaction."""
    try:
        registers.require(db, body.outlet_id, body.register_id, must_be_active=False)
    except registers.RegisterProblem as problem:
        return Refused("invalid", {"detail": str(problem)})
    try:
        approval = approve(approvals, principal, action="void", outlet_id=body.outlet_id, subject=body.id)
        return _record_void(db, settings, body, principal, approval, void_hash(body), source_ip)
    except ApprovalRequired as exc:
        return NeedsApproval({"detail": str(exc)})
    except IntegrityError:
        again = stored_void(db, body)
        if again is None:
            return Unavailable({"detail": "the void could not be stored: try again"})
        return again


def _record_void(
    db: Database,
    settings: Settings,
    body: VoidIn,
    principal: Principal,
    approval: Approval,
    digest: str,
    source_ip: str | None,
) -> Voided:
    now = utcnow()
    approver = approval.user_id
    with db.transaction() as uow:
        record_use(uow, approval, action="void", used_for=body.id)
        policy = outlet_policy.load(uow, body.outlet_id, settings)
        cart = None
        if body.lines:
            try:
                cart = price(uow, settings, CartIn(outlet_id=body.outlet_id, register_id=body.register_id, lines=body.lines)).cart
            except CheckoutError:
                cart = None  # a product may have been archived since: record the void all the same
        answer: dict[str, Any] = {
            "sale_id": body.id,
            "status": "VOIDED",
            "outlet_id": body.outlet_id,
            "register_id": body.register_id,
            "cashier_id": principal.user_id,
            "approved_by": approver,
            "reason": body.reason,
            "currency": cart.currency if cart else policy.currency,
            "total_minor": cart.total_minor if cart else 0,
            "lines": [{"product_id": line.product_id, "qty": line.qty} for line in body.lines],
            "voided_at": now.isoformat() + "Z",
        }
        voided = Voided(answer)
        uow.session.execute(
            sales.insert().values(
                id=body.id,
                outlet_id=body.outlet_id,
                register_id=body.register_id,
                shift_id=current_shift_id(uow, body.outlet_id, body.register_id),
                cashier_id=principal.user_id,
                approved_by=approver,
                request_hash=digest,
                status="VOIDED",
                fulfilment="none",
                oversold=False,
                currency=answer["currency"],
                total_minor=answer["total_minor"],
                tax_minor=cart.tax_minor if cart else 0,
                discount_minor=cart.discount_minor if cart else 0,
                rounding_minor=0,
                refunded_minor=0,
                reprint_count=0,
                http_status=http_answer(voided).status,
                answer=json.dumps(answer),
                created_at=now,
                completed_at=now,
            )
        )
        if cart is not None:
            uow.session.execute(
                sale_lines.insert(),
                sale_line_rows(body.id, cart),
            )
        uow.session.execute(parked_carts.delete().where(parked_carts.c.id == body.id))
        uow.publish(
            SaleVoided(
                sale_id=body.id,
                outlet_id=body.outlet_id,
                cashier_id=principal.user_id,
                approved_by=approver,
                voided_at=answer["voided_at"],
                register_id=body.register_id,
            ),
            outlet_id=body.outlet_id,
        )
        audit.voided(uow, answer, principal, source_ip)
    return voided
