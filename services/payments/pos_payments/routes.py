from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from pos_payments.config import Settings
from pos_payments.schemas import PaymentIn, PaymentOut, ReconcileIn, RefundIn, RefundOut
from pos_payments.service import PaymentProblem, PaymentService, load_payments, load_refund
from pos_payments.tables import payments
from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.auth import Cashier, StaffOrService, ensure_outlet
from pos_platform.openapi import errors

router = APIRouter(prefix="/api/payments", tags=["payments"])


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def _service(request: Request) -> PaymentService:
    return request.app.state.payments


def _problem(exc: PaymentProblem) -> HTTPException:
    return HTTPException(exc.status, exc.detail)


UNSENT_DETAIL = "the card processor cannot be reached: nothing was charged; try again or take another tender"


def payment_answer(payment: PaymentOut, created: bool) -> JSONResponse:
    """captured: 201 (200 when repeated); declined: 402; still pending (the card
    provider's answer is unknown): 202; unsent (the card processor could not be reached,
    nothing was charged; repeat the request to try again): 503; cancelled by
    reconciliation: 409."""
    body: dict[str, Any] = payment.model_dump(mode="json")
    if payment.status in ("captured", "refunded"):
        return JSONResponse(body, status_code=201 if created else 200)
    if payment.status == "declined":
        code = payment.decline_code or "declined"
        return JSONResponse(
            {
                "detail": f"card declined ({code}): {payment.detail or 'ask for another card'}",
                "decline_code": code,
                "payment": body,
            },
            status_code=402,
        )
    if payment.status == "pending":
        return JSONResponse(body, status_code=202)
    if payment.status == "unsent":
        return JSONResponse(
            {"detail": UNSENT_DETAIL, "code": "card_processor_unreachable", "payment": body},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    return JSONResponse(
        {"detail": f"payment {payment.payment_id} was cancelled before it was taken: nothing was charged", "payment": body},
        status_code=409,
    )


@router.get("/provider")
def card_provider(_user: Cashier, request: Request) -> dict[str, str]:
    """Which card processor takes card tenders here (sandbox, stripe or none)."""
    return {"card_provider": _service(request).provider.name}


@router.post(
    "/payments",
    response_model=PaymentOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": PaymentOut, "description": "this payment id was already recorded: the stored payment"},
        202: {
            "model": PaymentOut,
            "description": "the card provider's answer is not known yet: the payment is pending; repeat or reconcile",
        },
        503: {
            "description": "the card processor cannot be reached (`payment.status`: unsent): nothing was charged; repeat to try again"
        },
        402: {"description": "a card was declined; nothing was kept"},
        409: {"description": "id reused for another payment, the sale is paid under another id, or the payment was cancelled"},
        **unprocessable("the tenders do not add up to the amount, or card payments are not set up"),
    },
)
async def capture_payment(body: PaymentIn, principal: Cashier, request: Request) -> JSONResponse:
    """Capture the payment of a sale: cash is recorded, each card tender is charged through
    the card provider. Safe to repeat with the same payment_id (never a second charge)."""
    ensure_outlet(principal, body.outlet_id)
    try:
        outcome = await _service(request).capture(body)
    except PaymentProblem as exc:
        raise _problem(exc) from None
    return payment_answer(outcome.payment, outcome.created)


@router.post(
    "/payments/{payment_id}/reconcile",
    response_model=PaymentOut,
    responses={409: {"description": "the payment id belongs to another sale"}},
)
async def reconcile_payment(payment_id: str, body: ReconcileIn, principal: StaffOrService, request: Request) -> PaymentOut:
    """Settle where a payment stands: a pending card is asked again by its idempotency
    key; a payment never recorded is recorded as cancelled (so it can no longer be
    taken). Used by sales to finish or fail a sale whose checkout was interrupted."""
    ensure_outlet(principal, body.outlet_id)
    try:
        return await _service(request).reconcile(payment_id, body)
    except PaymentProblem as exc:
        raise _problem(exc) from None


@router.get("/payments/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, principal: StaffOrService, request: Request) -> PaymentOut:
    with _ctx(request).db.transaction() as uow:
        found = load_payments(uow, [payment_id])
    if not found or not principal.may_access(found[0].outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"payment {payment_id} not found")
    return found[0]


@router.get("/payments", response_model=list[PaymentOut])
def find_payments(
    principal: StaffOrService,
    request: Request,
    sale_id: str = Query(min_length=1, max_length=36, description="the sale whose payment to return"),
) -> list[PaymentOut]:
    """The payment of a sale (a list: empty if the sale has none you may see)."""
    query = select(payments.c.id).where(payments.c.sale_id == sale_id)
    query = principal.where_visible(query, payments.c.outlet_id)
    with _ctx(request).db.transaction() as uow:
        return load_payments(uow, list(uow.session.scalars(query.order_by(payments.c.created_at, payments.c.id))))


@router.post(
    "/refunds",
    response_model=RefundOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": RefundOut, "description": "this refund id was already recorded"},
        202: {"model": RefundOut, "description": "the card provider's answer is not known yet; repeat the same request"},
        **errors(
            {
                404: "the outlet, or the payment to refund, does not exist (or is another outlet's)",
                409: "the payment is not captured, or the refund id was used for a different refund",
            }
        ),
        **unprocessable("more than can be refunded, or the card refund failed"),
    },
)
async def refund_payment(body: RefundIn, principal: StaffOrService, request: Request) -> JSONResponse:
    """Give money back: card parts go back to the card(s) the payment was taken on, cash
    parts out of the drawer. Never more than was paid minus earlier refunds; safe to
    repeat with the same refund_id. (Approval is the sales service's business.)"""
    ensure_outlet(principal, body.outlet_id)
    try:
        outcome = await _service(request).refund(body)
    except PaymentProblem as exc:
        raise _problem(exc) from None
    refund = outcome.refund
    data = refund.model_dump(mode="json")
    if refund.status == "refunded":
        return JSONResponse(data, status_code=201 if outcome.created else 200)
    if refund.status == "pending":
        return JSONResponse(data, status_code=202)
    return JSONResponse(
        {"detail": f"refund failed: {refund.detail or 'the card processor refused it'}", "refund": data}, status_code=422
    )


@router.get("/refunds/{refund_id}", response_model=RefundOut)
def get_refund(refund_id: str, principal: StaffOrService, request: Request) -> RefundOut:
    with _ctx(request).db.transaction() as uow:
        found = load_refund(uow, refund_id)
    if found is None or not principal.may_access(found.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"refund {refund_id} not found")
    return found
