"""Offline sales synced by the till, and the sync exceptions a manager works through
(pos_sales.offline)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from pos_platform.app import MAX_ID, ServiceContext, unprocessable
from pos_platform.auth import Cashier, Manager
from pos_platform.db import iso_utc, utcnow
from pos_platform.outlets import ensure_known_outlet_async
from pos_sales.offline import OfflineSync
from pos_sales.schemas import OfflineSaleIn, SyncExceptionOut, SyncExceptionResolveIn
from pos_sales.tables import sync_exceptions

router = APIRouter(prefix="/api/sales", tags=["offline"])


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


@router.post(
    "/offline",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {"description": "recorded; the body is the receipt (offline: true, completed_at = when it was sold)"},
        409: {"description": "this sale id was already used for a different sale"},
        503: {"description": "payments or the database is unavailable: nothing is lost, sync the same sale again"},
    }
    | unprocessable("the receipt does not add up, names another outlet's register, or a tender other than cash"),
)
async def sync_offline_sale(body: OfflineSaleIn, principal: Cashier, request: Request) -> JSONResponse:
    """Record a sale the till made offline. Sync its queue in order, each sale as many
    times as it takes: the same id is recorded once and answered the same way. Whatever
    changed meanwhile (price, product, stock, shift, limits) does not refuse the sale: it
    is listed under GET /api/sales/sync-exceptions."""
    await ensure_known_outlet_async(_ctx(request).db, principal, body.outlet_id)
    answer = await OfflineSync(request.app.state.checkout).run(body, principal)
    return JSONResponse(answer.body, status_code=answer.status)


def _out(row) -> SyncExceptionOut:  # type: ignore[no-untyped-def]
    return SyncExceptionOut(
        id=row.id,
        sale_id=row.sale_id,
        outlet_id=row.outlet_id,
        receipt_number=row.receipt_number,
        kind=row.kind,
        detail=row.detail,
        created_at=iso_utc(row.created_at),
        resolved_at=iso_utc(row.resolved_at),
        resolved_by=row.resolved_by,
        note=row.note,
    )


@router.get("/sync-exceptions", response_model=list[SyncExceptionOut])
def list_sync_exceptions(
    principal: Manager,
    request: Request,
    outlet_id: str | None = Query(default=None, max_length=36),
    state: Literal["open", "resolved", "all"] = "open",
    after: int = Query(default=0, ge=0, le=MAX_ID, description="the last id of the previous page"),
    limit: int = Query(default=100, ge=1, le=500),
) -> list[SyncExceptionOut]:
    """What offline sales' syncs found (oldest first): price_changed, product_archived,
    product_unknown, stock_short, shift_closed, shift_unknown, over_offline_limits,
    discount_unapproved, receipt_number_reused, clock_ahead. The sale is recorded in
    every case; the list is what a manager checks and notes."""
    query = select(sync_exceptions).where(sync_exceptions.c.id > after).order_by(sync_exceptions.c.id).limit(limit)
    scope = principal.visible_outlets(outlet_id)
    if scope is not None:
        query = query.where(sync_exceptions.c.outlet_id.in_(scope))
    if state != "all":
        query = query.where(sync_exceptions.c.resolved_at.is_(None) if state == "open" else sync_exceptions.c.resolved_at.is_not(None))
    with _ctx(request).db.transaction() as uow:
        return [_out(r) for r in uow.session.execute(query).all()]


@router.post("/sync-exceptions/{exception_id}/resolve", response_model=SyncExceptionOut, responses={404: {"description": "no such exception at your outlets"}})
def resolve_sync_exception(
    body: SyncExceptionResolveIn, principal: Manager, request: Request, exception_id: int = Path(ge=1, le=MAX_ID)
) -> SyncExceptionOut:
    """Note what was done (stock counted, cash found, price confirmed). Once."""
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(sync_exceptions).where(sync_exceptions.c.id == exception_id).with_for_update()).first()
        if row is None or not principal.may_access(row.outlet_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "sync exception not found")
        if row.resolved_at is None:
            uow.session.execute(
                sync_exceptions.update().where(sync_exceptions.c.id == exception_id).values(resolved_at=utcnow(), resolved_by=principal.user_id, note=body.note)
            )
        row = uow.session.execute(select(sync_exceptions).where(sync_exceptions.c.id == exception_id)).one()
    return _out(row)
