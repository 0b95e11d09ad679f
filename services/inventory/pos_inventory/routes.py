from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pos_inventory import stock as ops
from pos_inventory.config import Settings
from pos_inventory.schemas import LedgerEntry, LevelOut, LevelPage, LevelUpdate, ReceiptIn, ReservationIn, ReservationOut
from pos_inventory.tables import ledger, products, stock
from pos_platform.app import ServiceContext
from pos_platform.auth import Cashier, CurrentUser, Manager, ensure_outlet
from pos_platform.db import UnitOfWork, retry_on_deadlock

router = APIRouter(prefix="/api/inventory", tags=["inventory"])


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


def _level_out(level: ops.Level, sku: str | None = None, name: str | None = None) -> LevelOut:
    return LevelOut(
        outlet_id=level.outlet_id,
        product_id=level.product_id,
        sku=sku,
        name=name,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        reorder_point=level.reorder_point,
    )


@router.get("", response_model=LevelPage)
def list_levels(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = None,
    product_id: str | None = None,
    low_only: bool = Query(default=False, description="only lines at or below their reorder point"),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> LevelPage:
    """Stock levels of the outlets the caller may see."""
    query = select(stock, products.c.sku, products.c.name).join(
        products, products.c.product_id == stock.c.product_id, isouter=True
    )
    outlets = principal.visible_outlets(outlet_id)
    if outlets is not None:
        query = query.where(stock.c.outlet_id.in_(outlets))
    if product_id:
        query = query.where(stock.c.product_id == product_id)
    if low_only:
        query = query.where(stock.c.reorder_point > 0, stock.c.on_hand <= stock.c.reorder_point)
    with _ctx(request).db.transaction() as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = uow.session.execute(query.order_by(stock.c.outlet_id, products.c.name).limit(limit).offset(offset)).all()
    items = [
        _level_out(ops.Level(r.outlet_id, r.product_id, r.on_hand, r.reserved, r.reorder_point), r.sku, r.name) for r in rows
    ]
    return LevelPage(items=items, total=total)


@router.put("", response_model=LevelOut)
@retry_on_deadlock
def update_level(body: LevelUpdate, principal: Manager, request: Request) -> LevelOut:
    """Set a counted quantity and/or the reorder point; the difference is a ledger row."""
    ensure_outlet(principal, body.outlet_id)
    if body.on_hand is None and body.reorder_point is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "give on_hand, reorder_point or both")
    with _ctx(request).db.transaction() as uow:
        level = ops.set_level(
            uow,
            body.outlet_id,
            body.product_id,
            on_hand=body.on_hand,
            reorder_point=body.reorder_point,
            reason=body.reason,
            actor=principal.user_id,
        )
    return _level_out(level)


@router.get("/stock/{outlet_id}/{product_id}", response_model=LevelOut)
def get_level(outlet_id: str, product_id: str, principal: CurrentUser, request: Request) -> LevelOut:
    ensure_outlet(principal, outlet_id)
    with _ctx(request).db.transaction() as uow:
        level = ops.get_level(uow, outlet_id, product_id) or ops.Level(outlet_id, product_id, 0, 0, 0)
    return _level_out(level)


@router.post("/receipts", response_model=list[LevelOut], status_code=status.HTTP_201_CREATED)
@retry_on_deadlock
def receive_goods(body: ReceiptIn, principal: Manager, request: Request) -> list[LevelOut]:
    ensure_outlet(principal, body.outlet_id)
    with _ctx(request).db.transaction() as uow:
        levels = ops.receive(
            uow, body.outlet_id, [(line.product_id, line.qty) for line in body.lines], actor=principal.user_id, reference=body.reference
        )
    return [_level_out(level) for level in levels]


@router.get("/ledger", response_model=list[LedgerEntry])
def list_ledger(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = None,
    product_id: str | None = None,
    reference: str | None = Query(default=None, description="e.g. a sale id"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[LedgerEntry]:
    query = select(ledger)
    outlets = principal.visible_outlets(outlet_id)
    if outlets is not None:
        query = query.where(ledger.c.outlet_id.in_(outlets))
    if product_id:
        query = query.where(ledger.c.product_id == product_id)
    if reference:
        query = query.where(ledger.c.reference == reference)
    with _ctx(request).db.transaction() as uow:
        rows = uow.session.execute(query.order_by(ledger.c.id.desc()).limit(limit)).all()
    return [LedgerEntry(**{**r._mapping, "created_at": r.created_at.isoformat() + "Z"}) for r in rows]


def _reservation_conflict(short: list[ops.ShortLine]) -> JSONResponse:
    names = ", ".join(f"{s.product_id} (wanted {s.requested}, {s.available} available)" for s in short)
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT,
        content={
            "detail": f"not enough stock for: {names}",
            "short": [{"product_id": s.product_id, "requested": s.requested, "available": s.available} for s in short],
        },
    )


@router.post(
    "/reservations",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "some lines are short; nothing was reserved"}},
)
def create_reservation(body: ReservationIn, principal: Cashier, request: Request, response: Response) -> ReservationOut | JSONResponse:
    """Reserve every line or none. Idempotent by sale id: a repeat answers 200 with the
    reservation as it stands."""
    ensure_outlet(principal, body.outlet_id)
    ctx = _ctx(request)
    settings: Settings = ctx.settings  # type: ignore[assignment]
    lines = [(line.product_id, line.qty) for line in body.lines]
    try:
        _reserve(ctx, body, lines, settings.reservation_ttl_seconds)
    except ops.ShortStock as short:
        return _reservation_conflict(short.lines)
    except IntegrityError:
        with ctx.db.transaction() as uow:
            found = ops.reservation_status(uow, body.sale_id)
        if found is None or found[0] != body.outlet_id:
            raise HTTPException(status.HTTP_409_CONFLICT, "sale id already used for another outlet") from None
        response.status_code = status.HTTP_200_OK
        return ReservationOut(sale_id=body.sale_id, outlet_id=found[0], status=found[1])
    return ReservationOut(sale_id=body.sale_id, outlet_id=body.outlet_id, status="held")


@retry_on_deadlock
def _reserve(ctx: ServiceContext, body: ReservationIn, lines: list[tuple[str, int]], ttl: int) -> None:
    with ctx.db.transaction() as uow:
        ops.reserve(uow, body.sale_id, body.outlet_id, lines, ttl)


@router.delete("/reservations/{sale_id}", status_code=status.HTTP_204_NO_CONTENT)
def release_reservation(sale_id: str, principal: Cashier, request: Request) -> Response:
    """Give held stock back (a failed or voided checkout). Releasing twice is harmless."""
    with _ctx(request).db.transaction() as uow:
        found = ops.reservation_status(uow, sale_id, for_update=True)
        if found is None or not principal.may_access(found[0]):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reservation for sale {sale_id}")
        ops.release(uow, sale_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def expire_reservations_once(uow: UnitOfWork) -> int:
    expired = ops.expired_reservations(uow)
    for sale_id in expired:
        ops.release(uow, sale_id, new_status="expired")
    return len(expired)
