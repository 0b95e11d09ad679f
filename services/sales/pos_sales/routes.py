from __future__ import annotations

import json
import logging
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from pos_platform.app import MAX_OFFSET, ServiceContext, service_context, unprocessable
from pos_platform.auth import Cashier, CurrentUser
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet_async
from pos_sales.checkout import Checkout
from pos_sales.config import Settings
from pos_sales.mail import Mail, MailRefused, MailSender, MailUnavailable
from pos_sales.receipts import receipt_rows, render_html, render_text, shop_name
from pos_sales.responses import Receipt, Sale, printable_200
from pos_sales.schemas import ReceiptMailIn, ReceiptMailOut, SaleIn, SalePage, SaleSummary
from pos_sales.tables import known_outlets, refunds, sale_lines, sale_tax_lines, sales
from pos_sales.web import answer, approvals

router = APIRouter(prefix="/api/sales", tags=["sales"])
log = logging.getLogger("pos.sales.receipts")

Format = Literal["json", "text", "html"]


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        # Documented, not a response_model: the hot path answers its stored JSON as is (ADR 0065).
        201: {"model": Receipt, "description": "sale completed; the body is the receipt"},
        402: {"description": "payment declined; nothing was sold and the stock was released"},
        403: {"description": "a discount above the outlet's threshold needs a manager's approval"},
        409: {
            "description": "not enough stock (the short lines are named), the sale id was reused, or the checkout was cancelled"
        },
        503: {
            "description": "a service was unavailable (nothing charged: post the same sale again), or the payment's outcome is not known yet (status PENDING: it will be settled automatically)"
        },
    }
    | unprocessable("the cart or tenders cannot be accepted"),
)
async def post_sale(body: SaleIn, principal: Cashier, request: Request) -> JSONResponse:
    """Check out a cart. Prices come from the sales service's own replica of the
    catalog; discounts (per line and per cart) and tax follow the outlet's settings.
    Tenders: cash (with change and the outlet's cash rounding), card, or any mix.
    The same sale id posted again is answered exactly as the first time."""
    # An admin's token names no outlets: the outlet must be one identity announced.
    await ensure_known_outlet_async(_ctx(request).db, principal, body.outlet_id)
    checkout: Checkout = request.app.state.checkout
    return answer(await checkout.run(body, principal, approvals(request, body.approved_by)))


@router.get("", response_model=SalePage)
def list_sales(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = None,
    register_id: str | None = None,
    receipt_number: str | None = Query(
        default=None, max_length=32, description="find a sale by its receipt number (for a refund)"
    ),
    status_filter: str | None = Query(default=None, alias="status", pattern="^(PENDING|COMPLETED|FAILED|VOIDED)$"),
    tax_estimated: bool | None = Query(
        default=None, description="true: only sales whose tax the API did not answer in time (the table's figures were used)"
    ),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> SalePage:
    query = select(sales)
    query = principal.where_visible(query, sales.c.outlet_id, outlet_id)
    if register_id:
        query = query.where(sales.c.register_id == register_id)
    if receipt_number:
        query = query.where(sales.c.receipt_number == receipt_number)
    if status_filter:
        query = query.where(sales.c.status == status_filter)
    if tax_estimated is not None:
        query = query.where(sales.c.tax_estimated.is_(tax_estimated))
    with _ctx(request).db.transaction() as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = uow.session.execute(query.order_by(sales.c.created_at.desc(), sales.c.id).limit(limit).offset(offset)).all()
    return SalePage(
        items=[
            SaleSummary(
                id=r.id,
                outlet_id=r.outlet_id,
                register_id=r.register_id,
                cashier_id=r.cashier_id,
                status=r.status,
                fulfilment=r.fulfilment,
                receipt_number=r.receipt_number,
                currency=r.currency,
                total_minor=r.total_minor,
                refunded_minor=r.refunded_minor,
                created_at=r.created_at.isoformat() + "Z",
                tax_minor=r.tax_minor,
                tax_source=r.tax_source,
                tax_estimated=r.tax_estimated,
            )
            for r in rows
        ],
        total=total,
    )


def _visible_sale(uow: Any, sale_id: str, principal: Any) -> Any:
    row = uow.session.execute(select(sales).where(sales.c.id == sale_id)).first()
    if row is None or not principal.may_access(row.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sale {sale_id} not found")
    return row


@router.get("/{sale_id}", responses={200: {"model": Sale, "description": "the sale"}})
def get_sale(sale_id: str, principal: CurrentUser, request: Request) -> JSONResponse:
    """The sale's receipt (or failure) with its current status, fulfilment and refunds."""
    with _ctx(request).db.transaction() as uow:
        row = _visible_sale(uow, sale_id, principal)
        refunded_qty = dict(
            uow.session.execute(
                select(sale_lines.c.line_no, sale_lines.c.refunded_qty).where(sale_lines.c.sale_id == sale_id)
            ).all()
        )
        refund_rows_ = uow.session.execute(
            select(refunds.c.id, refunds.c.status, refunds.c.total_minor)
            .where(refunds.c.sale_id == sale_id)
            .order_by(refunds.c.created_at)
        ).all()
        tax_lines = (
            uow.session.execute(
                select(sale_tax_lines)
                .where(sale_tax_lines.c.sale_id == sale_id)
                .order_by(sale_tax_lines.c.line_no, sale_tax_lines.c.seq)
            ).all()
            if row.tax_source == "external"
            else []
        )
    body = json.loads(row.answer) if row.answer else {"sale_id": sale_id}
    if row.status == "COMPLETED":
        body["lines"] = [{**line, "refunded_qty": refunded_qty.get(line["line_no"], 0)} for line in body.get("lines", [])]
    body.update(
        status=row.status,
        fulfilment=row.fulfilment,
        oversold=row.oversold,
        refunded_minor=row.refunded_minor,
        refunds=[{"refund_id": r.id, "status": r.status, "total_minor": r.total_minor} for r in refund_rows_],
        tax_source=row.tax_source,
        tax_estimated=row.tax_estimated,
    )
    if tax_lines:
        # The tax API's figures per line and jurisdiction, as stored (ADR 0064).
        body["tax_lines"] = [
            {
                "line_no": t.line_no,
                "jurisdiction": t.jurisdiction,
                "level": t.level,
                "code": t.code,
                "rate": t.rate,
                "taxable_minor": t.taxable_minor,
                "tax_minor": t.tax_minor,
            }
            for t in tax_lines
        ]
    return JSONResponse(body)


# A sale that is not COMPLETED has no receipt (a PENDING, FAILED or VOIDED one).
RECEIPT_200 = printable_200(
    Receipt, "the receipt: JSON (format=json, the default), printer text (format=text) or an 80 mm HTML page (format=html)"
)
NO_RECEIPT = errors({409: "the sale is not completed: it has no receipt"})


def outlet_name(uow: Any, outlet_id: str) -> str:
    """The outlet's name from the replica ('' before its OutletCreated arrived)."""
    return uow.session.scalar(select(known_outlets.c.name).where(known_outlets.c.outlet_id == outlet_id)) or ""


def _receipt_document(receipt: dict[str, Any], fmt: Format, copy: int, outlet: str) -> Response:
    if fmt == "text":
        return PlainTextResponse(render_text(receipt_rows(receipt, copy=copy, outlet_name=outlet)))
    if fmt == "html":
        return HTMLResponse(
            render_html(receipt_rows(receipt, copy=copy, outlet_name=outlet), f"Receipt {receipt.get('receipt_number')}")
        )
    return JSONResponse({**receipt, "copy": copy} if copy else receipt)


@router.get("/{sale_id}/receipt", responses=RECEIPT_200 | NO_RECEIPT)
def get_receipt(sale_id: str, principal: CurrentUser, request: Request, format: Format = "json") -> Response:
    """The receipt as JSON, as HTML sized for 80 mm paper (print it from the browser), or
    as plain text for a 42-column receipt printer."""
    with _ctx(request).db.transaction() as uow:
        row = _visible_sale(uow, sale_id, principal)
        outlet = outlet_name(uow, row.outlet_id) if format != "json" else ""
    if row.status != "COMPLETED":
        raise HTTPException(status.HTTP_409_CONFLICT, f"sale {sale_id} is {row.status}: it has no receipt")
    return _receipt_document(json.loads(row.answer), format, 0, outlet)


@router.post("/{sale_id}/reprint", responses=RECEIPT_200 | NO_RECEIPT)
def reprint_receipt(sale_id: str, principal: Cashier, request: Request, format: Format = "json") -> Response:
    """Print the receipt again, marked as a numbered copy (reprints are counted)."""
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(sales).where(sales.c.id == sale_id).with_for_update()).first()
        if row is None or not principal.may_access(row.outlet_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"sale {sale_id} not found")
        if row.status != "COMPLETED":
            raise HTTPException(status.HTTP_409_CONFLICT, f"sale {sale_id} is {row.status}: it has no receipt")
        copy = row.reprint_count + 1
        uow.session.execute(sales.update().where(sales.c.id == sale_id).values(reprint_count=copy))
        outlet = outlet_name(uow, row.outlet_id) if format != "json" else ""
    return _receipt_document(json.loads(row.answer), format, copy, outlet)


@router.post(
    "/{sale_id}/email",
    response_model=ReceiptMailOut,
    responses=NO_RECEIPT
    | errors(
        {503: "the mail server could not be reached (or e-mail is not set up): the receipt was not sent; the sale is unchanged"}
    )
    | unprocessable("the address is not an e-mail address, or the mail server refused it"),
)
async def email_receipt(sale_id: str, body: ReceiptMailIn, principal: Cashier, request: Request) -> ReceiptMailOut:
    """Send the receipt to the address the customer gives: the mail's body is the
    receipt (plain text as printed, and the 80 mm HTML). Not a copy: reprints are not
    counted, and nothing about the sale changes whether the mail goes or not."""
    db = _ctx(request).db

    def read() -> tuple[Any, str]:
        with db.transaction() as uow:
            row = _visible_sale(uow, sale_id, principal)
            return row, outlet_name(uow, row.outlet_id)

    row, outlet = await run_in_threadpool(read)
    if row.status != "COMPLETED":
        raise HTTPException(status.HTTP_409_CONFLICT, f"sale {sale_id} is {row.status}: it has no receipt")
    receipt = json.loads(row.answer)
    rows = receipt_rows(receipt, outlet_name=outlet)
    shop = shop_name(receipt, outlet)
    number = receipt.get("receipt_number") or ""
    subject = f"Your receipt {number}" + (f" from {shop}" if shop else "")
    sender: MailSender = request.app.state.mail_sender
    try:
        await sender.send(Mail(to=body.to, subject=subject, text=render_text(rows), html=render_html(rows, subject)))
    except MailRefused as refused:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"The receipt was not sent: {refused}. Check the address."
        ) from None
    except MailUnavailable as down:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"The receipt was not sent: {down}. The sale is recorded; try again later or print the receipt.",
        ) from None
    log.info("receipt mailed", extra={"sale_id": sale_id})
    return ReceiptMailOut(sale_id=sale_id, to=body.to, subject=subject)
