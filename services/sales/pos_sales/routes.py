from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from pos_platform.app import ServiceContext
from pos_platform.auth import Cashier, CurrentUser, ensure_outlet
from pos_sales.checkout import Checkout
from pos_sales.schemas import PriceOut, SaleIn, SalePage, SaleSummary
from pos_sales.tables import price_replica, sales

router = APIRouter(prefix="/api/sales", tags=["sales"])


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "sale completed; the body is the receipt"},
        402: {"description": "payment declined; nothing was sold"},
        409: {"description": "not enough stock (the short lines are named), or the sale id was reused"},
        422: {"description": "the cart or tenders cannot be accepted"},
        503: {"description": "a service was unavailable; nothing was charged, post the same sale again"},
    },
)
async def post_sale(body: SaleIn, principal: Cashier, request: Request) -> JSONResponse:
    """Check out a cart. Prices come from the sales service's own replica of the
    catalog; the same sale id posted again is answered exactly as the first time."""
    ensure_outlet(principal, body.outlet_id)
    checkout: Checkout = request.app.state.checkout
    answer = await checkout.run(body, principal)
    return JSONResponse(answer.body, status_code=answer.status)


@router.get("", response_model=SalePage)
def list_sales(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = None,
    status_filter: str | None = Query(default=None, alias="status", pattern="^(PENDING|COMPLETED|FAILED)$"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> SalePage:
    query = select(sales)
    outlets = principal.visible_outlets(outlet_id)
    if outlets is not None:
        query = query.where(sales.c.outlet_id.in_(outlets))
    if status_filter:
        query = query.where(sales.c.status == status_filter)
    with _ctx(request).db.transaction() as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = uow.session.execute(query.order_by(sales.c.created_at.desc(), sales.c.id).limit(limit).offset(offset)).all()
    return SalePage(
        items=[
            SaleSummary(
                id=r.id,
                outlet_id=r.outlet_id,
                cashier_id=r.cashier_id,
                status=r.status,
                fulfilment=r.fulfilment,
                receipt_number=r.receipt_number,
                currency=r.currency,
                total_minor=r.total_minor,
                created_at=r.created_at.isoformat() + "Z",
            )
            for r in rows
        ],
        total=total,
    )


@router.get("/prices/{product_id}", response_model=PriceOut)
def get_price(product_id: str, _user: CurrentUser, request: Request) -> PriceOut:
    """The price this service will charge (its replica of the catalog)."""
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(price_replica).where(price_replica.c.product_id == product_id)).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"product {product_id} is not known to sales yet")
    return PriceOut(**{k: getattr(row, k) for k in PriceOut.model_fields})


@router.get("/{sale_id}")
def get_sale(sale_id: str, principal: CurrentUser, request: Request) -> JSONResponse:
    """The sale's receipt (or failure) with its current status and fulfilment."""
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(sales).where(sales.c.id == sale_id)).first()
    if row is None or not principal.may_access(row.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"sale {sale_id} not found")
    body = json.loads(row.answer) if row.answer else {"sale_id": sale_id}
    body.update(status=row.status, fulfilment=row.fulfilment, oversold=row.oversold)
    return JSONResponse(body)
