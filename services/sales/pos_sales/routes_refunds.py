"""Refunds of completed sales."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from sqlalchemy import select

from pos_platform.app import ServiceContext, service_context, unprocessable
from pos_platform.auth import Cashier
from pos_sales.config import Settings
from pos_sales.receipts import refund_rows, render_html, render_text
from pos_sales.refunds import RefundDesk, refund_view
from pos_sales.responses import Refund, RefundSlip, printable_200
from pos_sales.schemas import RefundIn
from pos_sales.tables import refunds, sales
from pos_sales.web import answer, approvals

router = APIRouter(prefix="/api/sales", tags=["refunds"])

Format = Literal["json", "text", "html"]


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


@router.get(
    "/refunds/{refund_id}",
    responses=printable_200(Refund, "the refund: JSON (format=json, the default), or its slip as printer text or 80 mm HTML"),
)
def get_refund(refund_id: str, principal: Cashier, request: Request, format: Format = "json") -> Response:
    """A refund and its slip (JSON, 80 mm HTML or printer text)."""
    with _ctx(request).db.transaction() as uow:
        body = refund_view(uow, refund_id)
    if body is None or not principal.may_access(body["outlet_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"refund {refund_id} not found")
    if format == "json" or body["status"] != "COMPLETED":
        return JSONResponse(body)
    if format == "text":
        return PlainTextResponse(render_text(refund_rows(body)))
    return HTMLResponse(render_html(refund_rows(body), f"Refund {refund_id}"))


@router.post(
    "/{sale_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"model": RefundSlip, "description": "refunded; the body is the refund slip"},
        403: {"description": "needs a manager's approval"},
        409: {"description": "the sale cannot be refunded (not completed, all refunded) or the id was reused"},
        503: {"description": "the refund's outcome is not known yet; it will be finished automatically"},
    }
    | unprocessable("more than is left to refund, or the money could not be given back"),
)
async def refund_sale(sale_id: str, body: RefundIn, principal: Cashier, request: Request) -> JSONResponse:
    """Refund a completed sale: everything left (no `lines`), or lines and quantities.
    Never more than was sold minus earlier refunds. Money goes back to the original
    tender(s) (card first, up to what the card paid, the rest in cash) or all in cash;
    each line says whether the goods go back on the shelf (SaleRefunded -> inventory).
    Needs a manager: the caller, or `approved_by` (a manager's access token).
    The same refund id posted again is answered exactly as the first time."""
    desk: RefundDesk = request.app.state.refund_desk
    return answer(await desk.create(sale_id, body, principal, approvals(request, body.approved_by)))


@router.get("/{sale_id}/refunds", response_model=list[Refund], response_model_exclude_unset=True)
def list_refunds(sale_id: str, principal: Cashier, request: Request) -> list[dict[str, Any]]:
    with _ctx(request).db.transaction() as uow:
        outlet = uow.session.scalar(select(sales.c.outlet_id).where(sales.c.id == sale_id))
        if outlet is None or not principal.may_access(outlet):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"sale {sale_id} not found")
        ids = list(uow.session.scalars(select(refunds.c.id).where(refunds.c.sale_id == sale_id).order_by(refunds.c.created_at)))
        return [v for i in ids if (v := refund_view(uow, i)) is not None]
