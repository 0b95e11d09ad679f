from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pos_contracts.events import PaymentCaptured, TenderLine
from pos_payments.domain import CaptureResult, TenderUnavailable, capture_tender, payment_status, tender_total_problem
from pos_payments.schemas import PaymentIn, PaymentOut, TenderOut
from pos_payments.tables import payment_tenders, payments
from pos_platform.app import ServiceContext
from pos_platform.auth import Cashier, ensure_outlet
from pos_platform.db import UnitOfWork, utcnow

router = APIRouter(prefix="/api/payments", tags=["payments"])


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


def _load(uow: UnitOfWork, ids: list[str]) -> list[PaymentOut]:
    if not ids:
        return []
    rows = {r.id: r for r in uow.session.execute(select(payments).where(payments.c.id.in_(ids)))}
    tenders: dict[str, list[TenderOut]] = {i: [] for i in ids}
    for t in uow.session.execute(
        select(payment_tenders)
        .where(payment_tenders.c.payment_id.in_(ids))
        .order_by(payment_tenders.c.payment_id, payment_tenders.c.seq)
    ):
        tenders[t.payment_id].append(
            TenderOut(
                kind=t.kind,
                amount_minor=t.amount_minor,
                tendered_minor=t.tendered_minor,
                change_minor=t.change_minor,
                provider_ref=t.provider_ref,
            )
        )
    return [
        PaymentOut(
            payment_id=r.id,
            sale_id=r.sale_id,
            outlet_id=r.outlet_id,
            currency=r.currency,
            amount_minor=r.amount_minor,
            status=r.status,
            tenders=tenders[r.id],
            change_minor=sum(t.change_minor for t in tenders[r.id]),
        )
        for i in ids
        if (r := rows.get(i)) is not None
    ]


def _payment_out(body: PaymentIn, results: list[CaptureResult]) -> PaymentOut:
    return PaymentOut(
        payment_id=body.payment_id,
        sale_id=body.sale_id,
        outlet_id=body.outlet_id,
        currency=body.currency,
        amount_minor=body.amount_minor,
        status=payment_status(results),
        tenders=[
            TenderOut(
                kind=r.kind,
                amount_minor=r.amount_minor,
                tendered_minor=r.tendered_minor,
                change_minor=r.change_minor,
                provider_ref=r.provider_ref,
            )
            for r in results
        ],
        change_minor=sum(r.change_minor for r in results),
    )


def _same_payment(stored: PaymentOut, body: PaymentIn) -> bool:
    return (stored.sale_id, stored.outlet_id, stored.currency, stored.amount_minor) == (
        body.sale_id,
        body.outlet_id,
        body.currency,
        body.amount_minor,
    )


@router.post(
    "/payments",
    response_model=PaymentOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": PaymentOut, "description": "this payment id was already recorded: the stored payment"}},
)
def capture_payment(body: PaymentIn, principal: Cashier, request: Request, response: Response) -> PaymentOut:
    """Capture the payment of a sale. Safe to repeat with the same payment_id."""
    ensure_outlet(principal, body.outlet_id)
    problem = tender_total_problem(body.amount_minor, body.tenders)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    try:
        results = [capture_tender(t) for t in body.tenders]
    except TenderUnavailable as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    payment = _payment_out(body, results)
    ctx = _ctx(request)
    now = utcnow()
    try:
        # Insert first: the primary key (payment id) and the unique sale id decide, even
        # when two copies of one request race.
        with ctx.db.transaction() as uow:
            uow.session.execute(
                payments.insert().values(
                    id=payment.payment_id,
                    sale_id=payment.sale_id,
                    outlet_id=payment.outlet_id,
                    currency=payment.currency,
                    amount_minor=payment.amount_minor,
                    status=payment.status,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.session.execute(
                payment_tenders.insert(),
                [
                    {"payment_id": payment.payment_id, "seq": seq, **t.model_dump()}
                    for seq, t in enumerate(payment.tenders, 1)
                ],
            )
            if payment.status == "captured":
                uow.publish(
                    PaymentCaptured(
                        payment_id=payment.payment_id,
                        sale_id=payment.sale_id,
                        outlet_id=payment.outlet_id,
                        currency=payment.currency,
                        amount_minor=payment.amount_minor,
                        tenders=[TenderLine(kind=t.kind, amount_minor=t.amount_minor) for t in payment.tenders],
                    ),
                    outlet_id=payment.outlet_id,
                )
    except IntegrityError:
        return _already_recorded(ctx, body, response)
    return payment


def _already_recorded(ctx: ServiceContext, body: PaymentIn, response: Response) -> PaymentOut:
    """The insert collided: a repeat of this payment, or the sale is paid under another id."""
    with ctx.db.transaction() as uow:
        found = _load(uow, [body.payment_id])
        other_id = None
        if not found:
            other_id = uow.session.scalar(select(payments.c.id).where(payments.c.sale_id == body.sale_id))
    if found:
        if not _same_payment(found[0], body):
            raise HTTPException(status.HTTP_409_CONFLICT, "payment id already used for a different payment")
        response.status_code = status.HTTP_200_OK
        return found[0]
    if other_id is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"sale {body.sale_id} is already paid by payment {other_id}: "
            f"look it up with GET /api/payments/payments?sale_id={body.sale_id}",
        )
    # Neither row exists any more: nothing we can explain, so not a client error.
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the payment could not be stored: try again")


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, principal: Cashier, request: Request) -> PaymentOut:
    with _ctx(request).db.transaction() as uow:
        found = _load(uow, [payment_id])
    if not found or not principal.may_access(found[0].outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"payment {payment_id} not found")
    return found[0]


@router.get("/payments", response_model=list[PaymentOut])
def find_payments(
    principal: Cashier,
    request: Request,
    sale_id: str = Query(min_length=1, max_length=36, description="the sale whose payment to return"),
) -> list[PaymentOut]:
    """The payment of a sale (a list: empty if the sale has none you may see)."""
    query = select(payments.c.id).where(payments.c.sale_id == sale_id)
    outlets = principal.visible_outlets(None)
    if outlets is not None:
        query = query.where(payments.c.outlet_id.in_(outlets))
    with _ctx(request).db.transaction() as uow:
        return _load(uow, list(uow.session.scalars(query.order_by(payments.c.created_at, payments.c.id))))
