"""Refunds: full, or by line and quantity, never more than was sold minus earlier
refunds; money back to the original tender(s) or in cash; restock chosen per line;
a manager's approval. Idempotent by the till's refund id.

Like checkout, a refund is stored PENDING first (under the sale's row lock, with the
quantities and money it takes already counted against the sale, so two refunds at the
same moment can never both take the last unit), then payments gives the money back,
then the refund is COMPLETED with SaleRefunded in the outbox, or FAILED and its
quantities and money handed back. The reconciler finishes refunds left pending.

`RefundDesk.create` is the use case: a plain command in, a typed outcome
(pos_sales.outcomes) out; the route maps it to HTTP (ADR 0074).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from pos_platform.auth import Principal
from pos_platform.db import Database, UnitOfWork, utcnow
from pos_sales import audit, events, outlet_policy, registers
from pos_sales.approval import Approval, ApprovalPort, ApprovalRequired, approve, record_use
from pos_sales.clients import PaymentAnswer, ServiceClients
from pos_sales.config import Settings
from pos_sales.domain import CheckoutError, refund_of_line, split_refund
from pos_sales.idempotency import Answer, StoredAnswers
from pos_sales.outcomes import (
    NeedsApproval,
    Outcome,
    OutcomeUnknown,
    Reason,
    RefundCompleted,
    Refused,
    Replayed,
    Unavailable,
    http_answer,
)
from pos_sales.schemas import RefundIn
from pos_sales.shifts import current_shift_id
from pos_sales.tables import refund_lines, refund_tenders, refunds, sale_lines, sale_tenders, sales

log = logging.getLogger("pos.sales.refunds")


class RefundProblem(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


def refund_hash(sale_id: str, body: RefundIn) -> str:
    data = body.model_dump_json(exclude={"id", "approved_by"}, exclude_none=True)
    return hashlib.sha256(f"{sale_id}|{data}".encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    refund_id: str
    draft: dict[str, Any]


class RefundDesk:
    def __init__(self, db: Database, settings: Settings, clients: ServiceClients) -> None:
        self.db = db
        self.settings = settings
        self.clients = clients
        self.answers = StoredAnswers(
            db,
            refunds,
            [(refund_lines, refund_lines.c.refund_id), (refund_tenders, refund_tenders.c.refund_id)],
            "refund",
            settings.reconcile_after_seconds,
        )

    async def create(self, sale_id: str, body: RefundIn, principal: Principal, approvals: ApprovalPort) -> Outcome:
        digest = refund_hash(sale_id, body)
        replayed = await self.answers.replay(body.id, digest, self.reconcile)
        if replayed is not None:
            return Replayed(replayed)
        outlet_id = await run_in_threadpool(self._sale_outlet, sale_id, principal)
        if outlet_id is None:
            return Refused("not_found", {"detail": f"sale {sale_id} not found"})
        try:
            # Paid out at a register of the sale's outlet (a deactivated one takes none).
            await run_in_threadpool(registers.require, self.db, outlet_id, body.register_id)
        except registers.RegisterProblem as problem:
            return Refused("invalid", {"detail": str(problem)})
        try:
            approval = approve(approvals, principal, action="refund", outlet_id=outlet_id, subject=sale_id)
            plan = await run_in_threadpool(self._reserve, sale_id, body, principal, approval, digest)
        except ApprovalRequired as exc:
            return NeedsApproval({"detail": str(exc)})
        except RefundProblem as exc:
            return Refused(exc.reason, {"detail": exc.detail})
        except IntegrityError:
            return Replayed(await self.answers.wait_for_answer(body.id, digest, self.reconcile))
        return await self._pay(plan, principal.token, by="request")

    def _sale_outlet(self, sale_id: str, principal: Principal) -> str | None:
        with self.db.transaction() as uow:
            outlet = uow.session.scalar(select(sales.c.outlet_id).where(sales.c.id == sale_id))
        return outlet if outlet is not None and principal.may_access(outlet) else None

    def _reserve(self, sale_id: str, body: RefundIn, principal: Principal, approval: Approval, digest: str) -> Plan:
        approver = approval.user_id
        with self.db.transaction() as uow:
            record_use(uow, approval, action="refund", used_for=body.id)
            sale = uow.session.execute(select(sales).where(sales.c.id == sale_id).with_for_update()).first()
            if sale is None or not principal.may_access(sale.outlet_id):
                raise RefundProblem("not_found", f"sale {sale_id} not found")
            if sale.status != "COMPLETED":
                raise RefundProblem("conflict", f"sale {sale_id} is {sale.status}: only a completed sale can be refunded")
            lines = {r.line_no: r for r in uow.session.execute(select(sale_lines).where(sale_lines.c.sale_id == sale_id))}
            wanted = self._wanted(body, lines)
            refund_parts = []
            for line_no, qty, restock in wanted:
                line = lines[line_no]
                try:
                    amounts = refund_of_line(line.total_minor, line.tax_minor, line.qty, line.refunded_qty, qty)
                except CheckoutError as exc:
                    raise RefundProblem("invalid", f"line {line_no} ({line.name}): {exc}") from None
                refund_parts.append((line, qty, restock, amounts))
            total = sum(a.total_minor for *_, a in refund_parts)
            tax = sum(a.tax_minor for *_, a in refund_parts)
            paid_card = uow.session.scalar(
                select(func.coalesce(func.sum(sale_tenders.c.amount_minor), 0)).where(
                    sale_tenders.c.sale_id == sale_id, sale_tenders.c.kind == "card"
                )
            )
            refunded_card = uow.session.scalar(
                select(func.coalesce(func.sum(refund_tenders.c.amount_minor), 0))
                .select_from(refund_tenders.join(refunds, refunds.c.id == refund_tenders.c.refund_id))
                .where(
                    refunds.c.sale_id == sale_id, refunds.c.status.in_(("PENDING", "COMPLETED")), refund_tenders.c.kind == "card"
                )
            )
            policy = outlet_policy.load(uow, sale.outlet_id, self.settings)
            split = split_refund(
                total,
                destination=body.destination,
                card_refundable_minor=int(paid_card) - int(refunded_card),
                money_refundable_minor=sale.total_minor + sale.rounding_minor - sale.refunded_minor,
                cash_rounding_minor=policy.cash_rounding_minor,
            )
            money = sum(amount for _, amount in split.tenders)
            now = utcnow()
            shift_id = current_shift_id(uow, sale.outlet_id, body.register_id)
            stored_sale = json.loads(sale.answer)
            draft = {
                "refund_id": body.id,
                "sale_id": sale_id,
                "receipt_number": sale.receipt_number,
                "outlet_id": sale.outlet_id,
                "register_id": body.register_id,
                "shift_id": shift_id,
                "cashier_id": principal.user_id,
                "cashier_name": principal.name,
                "approved_by": approver,
                "status": "COMPLETED",
                "currency": sale.currency,
                "destination": body.destination,
                "reason": body.reason,
                "lines": [
                    {
                        "line_no": line.line_no,
                        "product_id": line.product_id,
                        "name": line.name,
                        "qty": qty,
                        "total_minor": a.total_minor,
                        "tax_minor": a.tax_minor,
                        "restock": restock,
                    }
                    for line, qty, restock, a in refund_parts
                ],
                "total_minor": total,
                "tax_minor": tax,
                "rounding_minor": split.rounding_minor,
                "tenders": [{"kind": kind, "amount_minor": amount} for kind, amount in split.tenders],
                "shop": stored_sale.get("shop"),
                "header": stored_sale.get("header", []),
                "refunded_at": None,
            }
            uow.session.execute(
                refunds.insert().values(
                    id=body.id,
                    sale_id=sale_id,
                    outlet_id=sale.outlet_id,
                    register_id=body.register_id,
                    shift_id=shift_id,
                    cashier_id=principal.user_id,
                    approved_by=approver,
                    request_hash=digest,
                    status="PENDING",
                    destination=body.destination,
                    reason=body.reason,
                    currency=sale.currency,
                    total_minor=total,
                    tax_minor=tax,
                    rounding_minor=split.rounding_minor,
                    answer=json.dumps(draft),  # the draft, until the refund is settled
                    created_at=now,
                )
            )
            uow.session.execute(
                refund_lines.insert(),
                [
                    {
                        "refund_id": body.id,
                        "line_no": line.line_no,
                        "product_id": line.product_id,
                        "qty": qty,
                        "total_minor": a.total_minor,
                        "tax_minor": a.tax_minor,
                        "restock": restock,
                    }
                    for line, qty, restock, a in refund_parts
                ],
            )
            if split.tenders:
                uow.session.execute(
                    refund_tenders.insert(),
                    [
                        {"refund_id": body.id, "seq": i, "kind": kind, "amount_minor": amount}
                        for i, (kind, amount) in enumerate(split.tenders, 1)
                    ],
                )
            for line, qty, _, _ in refund_parts:
                taken = uow.session.execute(
                    sale_lines.update()
                    .where(
                        sale_lines.c.sale_id == sale_id,
                        sale_lines.c.line_no == line.line_no,
                        sale_lines.c.refunded_qty + qty <= sale_lines.c.qty,
                    )
                    .values(refunded_qty=sale_lines.c.refunded_qty + qty)
                ).rowcount
                if not taken:  # cannot happen under the sale's row lock; refuse rather than over-refund
                    raise RefundProblem("conflict", f"line {line.line_no} changed while refunding: try again")
            uow.session.execute(sales.update().where(sales.c.id == sale_id).values(refunded_minor=sales.c.refunded_minor + money))
        return Plan(body.id, draft)

    @staticmethod
    def _wanted(body: RefundIn, lines: dict[int, Any]) -> list[tuple[int, int, bool]]:
        if body.lines is None:
            wanted = [(n, r.qty - r.refunded_qty, body.restock) for n, r in sorted(lines.items()) if r.qty > r.refunded_qty]
            if not wanted:
                raise RefundProblem("conflict", "everything on this sale was already refunded")
            return wanted
        seen = set()
        for line in body.lines:
            if line.line_no not in lines:
                raise RefundProblem("invalid", f"the sale has no line {line.line_no}")
            if line.line_no in seen:
                raise RefundProblem("invalid", f"line {line.line_no} is listed twice: give its quantity once")
            seen.add(line.line_no)
        return [(line.line_no, line.qty, line.restock) for line in body.lines]

    async def _pay(self, plan: Plan, token: str | None, *, by: str) -> Outcome:
        draft = plan.draft
        if not draft["tenders"]:
            return await run_in_threadpool(self._complete, plan.refund_id)
        body = {
            "refund_id": plan.refund_id,
            "payment_id": draft["sale_id"],
            "outlet_id": draft["outlet_id"],
            "currency": draft["currency"],
            "tenders": draft["tenders"],
        }
        answer = await self.clients.refund(body, token)
        return await self._settle(plan.refund_id, answer, by=by)

    async def _settle(self, refund_id: str, answer: PaymentAnswer, *, by: str) -> Outcome:
        if answer.outcome == "refunded":
            return await run_in_threadpool(self._complete, refund_id)
        if answer.outcome == "failed":
            # Payments' 404 and 409 are passed on; anything else it refused is a 422.
            why: Reason = "not_found" if answer.status == 404 else "conflict" if answer.status == 409 else "invalid"
            return await run_in_threadpool(
                self._fail, refund_id, _refused(why), f"the money could not be given back: {answer.detail}"
            )
        if answer.outcome == "unreachable" and by == "request":
            return await run_in_threadpool(
                self._fail, refund_id, Unavailable, "payment service unavailable: nothing was refunded, try again"
            )
        return OutcomeUnknown(
            {
                "detail": "the refund is in progress: its outcome is not known yet; it will be finished automatically (GET the refund to see)",
                "refund_id": refund_id,
                "status": "PENDING",
            },
        )

    def _complete(self, refund_id: str) -> RefundCompleted | Replayed:
        with self.db.transaction() as uow:
            row = uow.session.execute(select(refunds).where(refunds.c.id == refund_id).with_for_update()).one()
            if row.status != "PENDING":
                return Replayed(Answer(row.http_status, json.loads(row.answer)))
            now = utcnow()
            answer = {**json.loads(row.answer), "refunded_at": now.isoformat() + "Z"}
            completed = RefundCompleted(answer)
            uow.session.execute(
                refunds.update()
                .where(refunds.c.id == refund_id)
                .values(
                    status="COMPLETED", completed_at=now, http_status=http_answer(completed).status, answer=json.dumps(answer)
                )
            )
            uow.publish(events.sale_refunded(row, answer), outlet_id=row.outlet_id)
            audit.refunded(uow, row, answer)
        return completed

    def _fail(self, refund_id: str, failure: Callable[[dict[str, Any]], Outcome], detail: str) -> Outcome:
        """FAILED, and what it had taken of the sale is given back."""
        with self.db.transaction() as uow:
            row = uow.session.execute(select(refunds).where(refunds.c.id == refund_id).with_for_update()).one()
            if row.status != "PENDING":
                return Replayed(Answer(row.http_status, json.loads(row.answer)))
            uow.session.execute(select(sales.c.id).where(sales.c.id == row.sale_id).with_for_update())
            for line in uow.session.execute(select(refund_lines).where(refund_lines.c.refund_id == refund_id)):
                uow.session.execute(
                    sale_lines.update()
                    .where(sale_lines.c.sale_id == row.sale_id, sale_lines.c.line_no == line.line_no)
                    .values(refunded_qty=sale_lines.c.refunded_qty - line.qty)
                )
            money = uow.session.scalar(
                select(func.coalesce(func.sum(refund_tenders.c.amount_minor), 0)).where(refund_tenders.c.refund_id == refund_id)
            )
            uow.session.execute(
                sales.update().where(sales.c.id == row.sale_id).values(refunded_minor=sales.c.refunded_minor - int(money))
            )
            outcome = failure({"detail": detail, "refund_id": refund_id, "sale_id": row.sale_id})
            stored = http_answer(outcome)
            uow.session.execute(
                refunds.update()
                .where(refunds.c.id == refund_id)
                .values(status="FAILED", http_status=stored.status, answer=json.dumps(stored.body))
            )
        return outcome

    # --- recovery ------------------------------------------------------------------------

    def stale_pending(self, limit: int = 50) -> list[str]:
        return self.answers.stale_pending(limit)

    async def reconcile(self, refund_id: str) -> Answer | None:
        """Repeat a pending refund's payment request (idempotent by refund id) and settle."""
        draft = await run_in_threadpool(self._pending_draft, refund_id)
        if draft is None:
            return None
        answer = http_answer(await self._pay(Plan(refund_id, draft), None, by="reconciler"))
        return None if answer.status == 503 else answer

    def _pending_draft(self, refund_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as uow:
            answer = uow.session.scalar(select(refunds.c.answer).where(refunds.c.id == refund_id, refunds.c.status == "PENDING"))
        return None if answer is None else json.loads(answer)


def _refused(reason: Reason) -> Callable[[dict[str, Any]], Refused]:
    return lambda body: Refused(reason, body)


def refund_view(uow: UnitOfWork, refund_id: str) -> dict[str, Any] | None:
    row = uow.session.execute(select(refunds).where(refunds.c.id == refund_id)).first()
    if row is None:
        return None
    body = json.loads(row.answer) if row.answer else {}
    body.update(refund_id=row.id, sale_id=row.sale_id, outlet_id=row.outlet_id, status=row.status)
    return body
