"""Offline sales synced by the till, and the sync exceptions a manager works through
(pos_sales.offline)."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import Select, case, func, select

from pos_platform.app import MAX_ID, ServiceContext, service_context, unprocessable
from pos_platform.auth import Cashier, Manager, Principal
from pos_platform.db import iso_utc, utcnow
from pos_platform.outlets import ensure_known_outlet_async
from pos_sales.config import Settings
from pos_sales.offline import OfflineSync, SyncAdmission
from pos_sales.responses import Receipt
from pos_sales.schemas import OfflineSaleIn, SyncExceptionCount, SyncExceptionOut, SyncExceptionResolveIn
from pos_sales.tables import known_registers, sales, sync_exceptions
from pos_sales.web import answer

router = APIRouter(prefix="/api/sales", tags=["offline"])


def _ctx(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


@router.post(
    "/offline",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {
            "model": Receipt,
            "description": "recorded; the body is the receipt (offline: true, completed_at = when it was sold)",
        },
        200: {"model": Receipt, "description": "the sale had been completed online: its receipt (recorded: online)"},
        409: {"description": "this sale id was already used for a different sale"},
        429: {"description": "busy with the tills selling now: send the same sale again after Retry-After seconds"},
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
    admission: SyncAdmission = request.app.state.offline_admission
    async with admission.turn() as admitted:
        if not admitted:
            settings = _ctx(request).settings
            return JSONResponse(
                {
                    "detail": "the server is busy with the tills selling now: this offline sale is kept in the till and sent again shortly"
                },
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(settings.offline_sync_retry_after_seconds)},
            )
        outcome = await OfflineSync(request.app.state.checkout).run(body, principal)
    return answer(outcome)


def _sold_at(row: Any) -> str | None:
    """The receipt's time: the completed sale's, or its draft's while payments has not
    confirmed it yet."""
    if row.sold_at is not None:
        return iso_utc(row.sold_at)
    if row.draft:
        return json.loads(row.draft).get("completed_at")
    return None


def _out(row: Any) -> SyncExceptionOut:
    return SyncExceptionOut(
        id=row.id,
        sale_id=row.sale_id,
        outlet_id=row.outlet_id,
        receipt_number=row.receipt_number,
        kind=row.kind,
        detail=row.detail,
        facts=json.loads(row.facts) if row.facts else [],
        created_at=iso_utc(row.created_at),
        sold_at=_sold_at(row),
        synced_at=iso_utc(row.synced_at),
        register_id=row.register_id,
        register_name=row.register_name,
        register_number=row.register_number,
        currency=row.currency,
        total_minor=row.total_minor,
        resolved_at=iso_utc(row.resolved_at),
        resolved_by=row.resolved_by,
        resolved_by_name=row.resolved_by_name,
        note=row.note,
    )


# Each exception with its sale (times, register, amount) and the register's name.
_WITH_SALE = (
    select(
        sync_exceptions,
        sales.c.completed_at.label("sold_at"),
        case((sales.c.completed_at.is_(None), sales.c.draft), else_=None).label("draft"),
        sales.c.created_at.label("synced_at"),
        sales.c.register_id,
        sales.c.currency,
        sales.c.total_minor,
        known_registers.c.name.label("register_name"),
        known_registers.c.number.label("register_number"),
    )
    .select_from(sync_exceptions)
    .outerjoin(sales, sales.c.id == sync_exceptions.c.sale_id)
    .outerjoin(known_registers, known_registers.c.register_id == sales.c.register_id)
)


def _scoped(query: Select[Any], principal: Principal, outlet_id: str | None, state: str) -> Select[Any]:
    query = principal.where_visible(query, sync_exceptions.c.outlet_id, outlet_id)
    if state != "all":
        query = query.where(
            sync_exceptions.c.resolved_at.is_(None) if state == "open" else sync_exceptions.c.resolved_at.is_not(None)
        )
    return query


@router.get("/sync-exceptions", response_model=list[SyncExceptionOut])
def list_sync_exceptions(
    principal: Manager,
    request: Request,
    outlet_id: str | None = Query(default=None, max_length=36),
    state: Literal["open", "resolved", "all"] = "open",
    order: Literal["oldest", "newest"] = Query(default="oldest", description="oldest first (work through them) or newest first"),
    after: int = Query(default=0, ge=0, le=MAX_ID, description="the last id of the previous page (in the order asked for)"),
    limit: int = Query(default=100, ge=1, le=500),
) -> list[SyncExceptionOut]:
    """What offline sales' syncs found: price_changed, product_archived,
    product_unknown, stock_short, shift_closed, shift_unknown, over_offline_limits,
    discount_unapproved, receipt_number_reused, clock_ahead. The sale is recorded in
    every case; the list is what a manager checks and notes. Each comes with its sale's
    times (sold, synced), register (with its name), currency and total, and what was
    found in figures (`facts`)."""
    query = _scoped(_WITH_SALE, principal, outlet_id, state)
    if order == "oldest":
        query = query.where(sync_exceptions.c.id > after).order_by(sync_exceptions.c.id)
    else:
        query = (query.where(sync_exceptions.c.id < after) if after else query).order_by(sync_exceptions.c.id.desc())
    with _ctx(request).db.transaction() as uow:
        return [_out(r) for r in uow.session.execute(query.limit(limit)).all()]


@router.get("/sync-exceptions/count", response_model=SyncExceptionCount)
def count_sync_exceptions(
    principal: Manager, request: Request, outlet_id: str | None = Query(default=None, max_length=36)
) -> SyncExceptionCount:
    """How many are open at the outlet, or at all the caller's outlets (the back office's
    badge): one count on the outlet/open index."""
    query = _scoped(select(func.count()).select_from(sync_exceptions), principal, outlet_id, "open")
    with _ctx(request).db.transaction() as uow:
        return SyncExceptionCount(open=uow.session.scalar(query) or 0)


@router.post(
    "/sync-exceptions/{exception_id}/resolve",
    response_model=SyncExceptionOut,
    responses={404: {"description": "no such exception at your outlets"}},
)
def resolve_sync_exception(
    body: SyncExceptionResolveIn, principal: Manager, request: Request, exception_id: int = Path(ge=1, le=MAX_ID)
) -> SyncExceptionOut:
    """Note what was done (stock counted, cash found, price confirmed). Once: resolving
    it again answers it as it was resolved (the first note and manager)."""
    with _ctx(request).db.transaction() as uow:
        row = uow.session.execute(select(sync_exceptions).where(sync_exceptions.c.id == exception_id).with_for_update()).first()
        if row is None or not principal.may_access(row.outlet_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "sync exception not found")
        if row.resolved_at is None:
            uow.session.execute(
                sync_exceptions.update()
                .where(sync_exceptions.c.id == exception_id)
                .values(
                    resolved_at=utcnow(), resolved_by=principal.user_id, resolved_by_name=principal.name or None, note=body.note
                )
            )
        row = uow.session.execute(_WITH_SALE.where(sync_exceptions.c.id == exception_id)).one()
    return _out(row)
