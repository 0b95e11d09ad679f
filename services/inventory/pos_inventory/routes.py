from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_random_exponential

from pos_inventory import audit as chain
from pos_inventory import stock as ops
from pos_inventory.config import Settings
from pos_inventory.domain import merge_lines, suggested_order
from pos_inventory.schemas import (
    AdjustmentIn,
    AuditOut,
    LedgerEntry,
    LevelOut,
    LevelPage,
    LevelUpdate,
    LowStockLine,
    LowStockOutlet,
    LowStockSummary,
    PolicyIn,
    ProductStockOut,
    QtyLine,
    ReceiptIn,
    ReservationDetail,
    ReservationIn,
    ReservationOut,
    SaleLowStock,
    SaleLowStockLine,
    StockExceptionOut,
)
from pos_inventory.stream import StockStreams
from pos_inventory.tables import ledger, products, stock, stock_exceptions
from pos_platform.app import MAX_ID, MAX_OFFSET, ServiceContext, service_context
from pos_platform.auth import Cashier, CurrentUser, Manager, Principal, StaffOrService, ensure_outlet
from pos_platform.db import is_deadlock, retry_on_deadlock, upsert
from pos_platform.outlets import ensure_known_outlet

router = APIRouter(prefix="/api/inventory", tags=["inventory"])


def context(request: Request) -> ServiceContext[Settings]:
    return service_context(request, Settings)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def _level_out(level: ops.Level, sku: str | None = None, name: str | None = None, oversell: str = "block") -> LevelOut:
    return LevelOut(
        outlet_id=level.outlet_id,
        product_id=level.product_id,
        sku=sku,
        name=name,
        on_hand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        reorder_point=level.reorder_point,
        reorder_qty=level.reorder_qty,
        low=level.reorder_point > 0 and level.on_hand <= level.reorder_point,
        oversell=oversell,
    )


def _row_level(r: Any) -> LevelOut:
    level = ops.Level(r.outlet_id, r.product_id, r.on_hand, r.reserved, r.reorder_point, r.reorder_qty, bool(r.low_alerted))
    return _level_out(level, r.sku, r.name, r.oversell or "block")


def _levels_query() -> Select[Any]:
    return select(stock, products.c.sku, products.c.name, products.c.oversell).join(
        products, products.c.product_id == stock.c.product_id, isouter=True
    )


def unknown_products(exc: ops.UnknownProducts) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        f"unknown product(s) {', '.join(exc.product_ids)}: not in the catalog (a product created a moment ago "
        "may not have reached inventory yet: try again in a few seconds)",
    )


def require_known(ctx: ServiceContext[Settings], product_ids: Iterable[str]) -> None:
    """422 unless every product is one the catalog announced (see stock.require_known)."""
    try:
        ops.require_known(ctx.db, product_ids)
    except ops.UnknownProducts as exc:
        raise unknown_products(exc) from None


def short_response(short: list[ops.ShortLine], what: str = "not enough stock for") -> JSONResponse:
    names = ", ".join(f"{s.name or s.product_id} (wanted {s.requested}, {s.available} available)" for s in short)
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT,
        content={
            "detail": f"{what}: {names}",
            "short": [
                {"product_id": s.product_id, "name": s.name, "requested": s.requested, "available": s.available} for s in short
            ],
        },
    )


# --- levels ------------------------------------------------------------------------------


@router.get("", response_model=LevelPage)
def list_levels(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = None,
    product_id: str | None = None,
    low_only: bool = Query(default=False, description="only lines at or below their reorder point"),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> LevelPage:
    """Stock levels of the outlets the caller may see."""
    query = _levels_query()
    query = principal.where_visible(query, stock.c.outlet_id, outlet_id)
    if product_id:
        query = query.where(stock.c.product_id == product_id)
    if low_only:
        query = query.where(stock.c.reorder_point > 0, stock.c.on_hand <= stock.c.reorder_point)
    with context(request).db.transaction() as uow:
        total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = uow.session.execute(
            query.order_by(stock.c.outlet_id, products.c.name, stock.c.product_id).limit(limit).offset(offset)
        ).all()
    return LevelPage(items=[_row_level(r) for r in rows], total=total)


@router.put("", response_model=LevelOut)
@retry_on_deadlock
def update_level(body: LevelUpdate, principal: Manager, request: Request) -> LevelOut:
    """Set a counted quantity and/or the reorder point and quantity; the difference in
    quantity is a ledger row (kind "count" when reason is count, else "adjustment")."""
    ensure_known_outlet(context(request).db, principal, body.outlet_id)
    if body.on_hand is None and body.reorder_point is None and body.reorder_qty is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give on_hand, reorder_point, reorder_qty or some of them")
    require_known(context(request), [body.product_id])
    with context(request).db.transaction() as uow:
        before = ops.locked_level(uow, body.outlet_id, body.product_id).on_hand
        level = ops.set_level(
            uow,
            body.outlet_id,
            body.product_id,
            on_hand=body.on_hand,
            reorder_point=body.reorder_point,
            reorder_qty=body.reorder_qty,
            reason=body.reason,
            note=body.note,
            actor=principal.user_id,
        )
        if level.on_hand != before:
            chain.adjusted(
                uow,
                level,
                level.on_hand - before,
                reason=body.reason,
                note=body.note,
                reference=None,
                principal=principal,
                request=request,
            )
    return _level_out(level)


@router.get("/stock/{outlet_id}/{product_id}", response_model=LevelOut)
def get_level(outlet_id: str, product_id: str, principal: CurrentUser, request: Request) -> LevelOut:
    ensure_outlet(principal, outlet_id)
    with context(request).db.transaction() as uow:
        row = uow.session.execute(_levels_query().where(stock.c.outlet_id == outlet_id, stock.c.product_id == product_id)).first()
        if row is not None:
            return _row_level(row)
        policy = uow.session.scalar(select(products.c.oversell).where(products.c.product_id == product_id))
    return _level_out(ops.Level(outlet_id, product_id, 0, 0, 0), oversell=policy or "block")


@router.get("/outlets/{outlet_id}/low-stock", response_model=list[LowStockLine])
def low_stock_list(
    outlet_id: str, principal: CurrentUser, request: Request, limit: int = Query(default=500, ge=1, le=5000)
) -> list[LowStockLine]:
    """The outlet's lines at or below their reorder point, emptiest first, with how many
    to order."""
    ensure_outlet(principal, outlet_id)
    query = (
        _levels_query()
        .where(stock.c.outlet_id == outlet_id, stock.c.reorder_point > 0, stock.c.on_hand <= stock.c.reorder_point)
        .order_by(stock.c.on_hand - stock.c.reorder_point, products.c.name)
        .limit(limit)
    )
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query).all()
    return [
        LowStockLine(**_row_level(r).model_dump(), suggested_order_qty=suggested_order(r.on_hand, r.reorder_point, r.reorder_qty))
        for r in rows
    ]


@router.get("/outlets/{outlet_id}/sales/{sale_id}/low-stock", response_model=SaleLowStock)
def sale_low_stock(
    outlet_id: Annotated[str, Path(min_length=1, max_length=MAX_ID)],
    sale_id: Annotated[str, Path(min_length=1, max_length=MAX_ID)],
    principal: CurrentUser,
    request: Request,
) -> SaleLowStock:
    """The products of this sale at or under their reorder point at the outlet, counted
    after the sale: the till's "running low" note. Checkout holds the sale's stock in a
    reservation and the deduction follows SaleCompleted asynchronously, so on hand may or
    may not include this sale yet. What is left is counted as `available` (on hand less
    every sale still held): while this sale's hold stands it is taken off there, once it is
    deducted it is off on hand, the same figure either way, read at once (no polling), and
    it is the "in stock" the till shows. Sales at other tills in between count too.
    404 when no stock was reserved for the sale at this outlet (an offline sale, or
    another outlet's)."""
    ensure_outlet(principal, outlet_id)
    with context(request).db.transaction() as uow:
        found = ops.reservation(uow, sale_id)
        if found is None or found["outlet_id"] != outlet_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no stock was reserved for sale {sale_id} at outlet {outlet_id}")
        if found["status"] == "released":  # the sale did not go through: it took nothing
            return SaleLowStock(sale_id=sale_id, outlet_id=outlet_id, deducted=False, lines=[])
        rows = uow.session.execute(
            _levels_query()
            .where(stock.c.outlet_id == outlet_id, stock.c.product_id.in_(sorted(found["lines"])))
            .order_by(products.c.name, stock.c.product_id)
        ).all()
    deducted = found["status"] == "consumed"
    lines = []
    for r in rows:
        left = r.on_hand - r.reserved
        if r.reorder_point > 0 and left <= r.reorder_point:
            lines.append(
                SaleLowStockLine(
                    product_id=r.product_id,
                    sku=r.sku,
                    name=r.name,
                    left=left,
                    reorder_point=r.reorder_point,
                    reorder_qty=r.reorder_qty,
                    suggested_order_qty=suggested_order(left, r.reorder_point, r.reorder_qty),
                )
            )
    lines.sort(key=lambda line: (line.left - line.reorder_point, line.name or ""))
    return SaleLowStock(sale_id=sale_id, outlet_id=outlet_id, deducted=deducted, lines=lines)


@router.get("/low-stock/summary", response_model=LowStockSummary)
def low_stock_summary(principal: CurrentUser, request: Request) -> LowStockSummary:
    """How many lines are at or below their reorder point (and how many of them are
    empty) at each of the caller's outlets that has any: one grouped count, for the
    dashboard's tile and the office menu's badge."""
    low = and_(stock.c.reorder_point > 0, stock.c.on_hand <= stock.c.reorder_point)
    query = (
        select(stock.c.outlet_id, func.count(), func.sum(case((stock.c.on_hand <= 0, 1), else_=0)))
        .where(low)
        .group_by(stock.c.outlet_id)
        .order_by(stock.c.outlet_id)
    )
    visible = principal.visible_outlets(None)
    if visible is not None:
        if not visible:
            return LowStockSummary(low=0, out=0, outlets=[])
        query = query.where(stock.c.outlet_id.in_(visible))
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query).all()
    outlets = [LowStockOutlet(outlet_id=r[0], low=int(r[1]), out=int(r[2] or 0)) for r in rows]
    return LowStockSummary(low=sum(o.low for o in outlets), out=sum(o.out for o in outlets), outlets=outlets)


@router.get("/outlets/{outlet_id}/audit", response_model=AuditOut)
def audit(outlet_id: str, principal: Manager, request: Request) -> AuditOut:
    """Check the outlet's books: every level must equal the sum of its ledger rows."""
    ensure_outlet(principal, outlet_id)
    with context(request).db.transaction() as uow:
        levels = dict(
            uow.session.execute(select(stock.c.product_id, stock.c.on_hand).where(stock.c.outlet_id == outlet_id)).all()
        )
        sums = dict(
            uow.session.execute(
                select(ledger.c.product_id, func.sum(ledger.c.delta))
                .where(ledger.c.outlet_id == outlet_id)
                .group_by(ledger.c.product_id)
            ).all()
        )
    mismatches = [
        {"product_id": p, "on_hand": levels.get(p, 0), "ledger_sum": int(sums.get(p) or 0)}
        for p in sorted(set(levels) | set(sums))
        if levels.get(p, 0) != int(sums.get(p) or 0)
    ]
    negative = [{"product_id": p, "on_hand": q} for p, q in sorted(levels.items()) if q < 0]
    return AuditOut(outlet_id=outlet_id, products_checked=len(set(levels) | set(sums)), mismatches=mismatches, negative=negative)


# --- movements ---------------------------------------------------------------------------


@router.post("/receipts", response_model=list[LevelOut], status_code=status.HTTP_201_CREATED)
@retry_on_deadlock
def receive_goods(body: ReceiptIn, principal: Manager, request: Request) -> list[LevelOut]:
    """Goods received from a supplier (ledger kind "receipt"), of products the catalog
    has announced (422 naming the others)."""
    ensure_known_outlet(context(request).db, principal, body.outlet_id)
    require_known(context(request), [line.product_id for line in body.lines])
    with context(request).db.transaction() as uow:
        levels = ops.receive(
            uow,
            body.outlet_id,
            [(line.product_id, line.qty) for line in body.lines],
            actor=principal.user_id,
            reference=body.reference,
        )
    return [_level_out(level) for level in levels]


@router.post(
    "/adjustments",
    response_model=list[LevelOut],
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "a line would leave less than nothing on hand; nothing was changed"}},
)
def adjust_stock(body: AdjustmentIn, principal: Manager, request: Request) -> list[LevelOut] | JSONResponse:
    """Stock damaged, stolen, expired, or a correction: one ledger row per line (kind
    "adjustment") with the reason and note. All lines or none."""
    ensure_known_outlet(context(request).db, principal, body.outlet_id)
    require_known(context(request), [line.product_id for line in body.lines])
    try:
        levels = _adjust(context(request), body, principal, request)
    except ops.ShortStock as short:
        return short_response(short.lines, "less on hand than the adjustment removes, count the stock instead")
    return [_level_out(level) for level in levels]


@retry_on_deadlock
def _adjust(ctx: ServiceContext[Settings], body: AdjustmentIn, principal: Principal, request: Request) -> list[ops.Level]:
    with ctx.db.transaction() as uow:
        lines = merge_lines([(line.product_id, line.delta) for line in body.lines])
        levels = ops.adjust(
            uow, body.outlet_id, lines, reason=body.reason, note=body.note, actor=principal.user_id, reference=body.reference
        )
        for level, (_product_id, delta) in zip(levels, lines, strict=True):
            if delta:
                chain.adjusted(
                    uow,
                    level,
                    delta,
                    reason=body.reason,
                    note=body.note,
                    reference=body.reference,
                    principal=principal,
                    request=request,
                )
        return levels


@router.get("/ledger", response_model=list[LedgerEntry])
def list_ledger(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = None,
    product_id: str | None = None,
    reference: str | None = Query(default=None, description="e.g. a sale, refund, transfer or count id"),
    kind: str | None = Query(default=None, pattern="^(sale|return|receipt|adjustment|count|transfer_out|transfer_in)$"),
    before_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="the next page: the smallest id of this one"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[LedgerEntry]:
    """Movements, newest first: who, when, why, and the level after each."""
    query = select(ledger)
    query = principal.where_visible(query, ledger.c.outlet_id, outlet_id)
    if product_id:
        query = query.where(ledger.c.product_id == product_id)
    if reference:
        query = query.where(ledger.c.reference == reference)
    if kind:
        query = query.where(ledger.c.kind == kind)
    if before_id is not None:
        query = query.where(ledger.c.id < before_id)
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query.order_by(ledger.c.id.desc()).limit(limit)).all()
    return [LedgerEntry(**{**r._mapping, "created_at": iso(r.created_at)}) for r in rows]


@router.get("/exceptions", response_model=list[StockExceptionOut])
def list_exceptions(
    principal: Manager,
    request: Request,
    outlet_id: str | None = None,
    status_: str | None = Query(
        default=None, alias="status", pattern="^(open|applied)$", description="open (waiting) or applied"
    ),
    limit: int = Query(default=500, ge=1, le=5000),
) -> list[StockExceptionOut]:
    """Lines of completed sales that name a product inventory does not know (no
    ProductCreated reached it): no stock or ledger row was made for them. Each is
    deducted (`applied`) when the product's event arrives; one that stays `open` is a
    sale for a product catalog never announced: a forged or corrupted event, or a
    product to look for in the catalog. Newest first."""
    query = select(stock_exceptions)
    query = principal.where_visible(query, stock_exceptions.c.outlet_id, outlet_id)
    if status_:
        query = query.where(stock_exceptions.c.status == status_)
    query = query.order_by(stock_exceptions.c.created_at.desc(), stock_exceptions.c.sale_id, stock_exceptions.c.product_id).limit(
        limit
    )
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query).all()
    return [
        StockExceptionOut(
            sale_id=r.sale_id,
            outlet_id=r.outlet_id,
            product_id=r.product_id,
            qty=r.qty,
            reason=r.reason,
            status=r.status,
            created_at=iso(r.created_at) or "",
            resolved_at=iso(r.resolved_at),
        )
        for r in rows
    ]


# --- products' oversell policy ----------------------------------------------------------------

# A product id as the catalog makes them (a UUID): a longer one is a 422, not a row too long.
ProductIdPath = Annotated[str, Path(min_length=1, max_length=36)]


@router.get("/products/{product_id}", response_model=ProductStockOut)
def get_product_policy(product_id: ProductIdPath, _user: CurrentUser, request: Request) -> ProductStockOut:
    with context(request).db.transaction() as uow:
        row = uow.session.execute(select(products).where(products.c.product_id == product_id)).first()
    if row is None:
        return ProductStockOut(product_id=product_id, sku=None, name=None, active=True, oversell="block")
    return ProductStockOut(product_id=product_id, sku=row.sku, name=row.name, active=row.active, oversell=row.oversell)


@router.put("/products/{product_id}/policy", response_model=ProductStockOut)
def set_product_policy(product_id: ProductIdPath, body: PolicyIn, manager: Manager, request: Request) -> ProductStockOut:
    """Oversell policy of a product in every outlet: `block` (default: a checkout short
    of stock gets 409) or `allow` (it is sold anyway; stock goes negative and the ledger
    row is flagged oversold, e.g. for sales made offline)."""
    with context(request).db.transaction() as uow:
        before = uow.session.scalar(select(products.c.oversell).where(products.c.product_id == product_id)) or "block"
        # The product may not have reached inventory yet (events are asynchronous).
        upsert(
            uow.session,
            products,
            {"product_id": product_id},
            sets={"oversell": body.oversell},
            defaults={"sku": "", "name": "", "active": True},
        )
        if before != body.oversell:
            chain.policy_changed(uow, product_id, before, body.oversell, manager, request)
    return get_product_policy(product_id, manager, request)


# --- reservations --------------------------------------------------------------------------


@router.post(
    "/reservations",
    response_model=ReservationOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "some lines are short; nothing was reserved"}},
)
def create_reservation(
    body: ReservationIn, principal: Cashier, request: Request, response: Response
) -> ReservationOut | JSONResponse:
    """Reserve every line or none, for `ttl_seconds` (the service's default, 300 s,
    when left out): a crashed checkout never holds stock longer. Idempotent by sale id:
    a repeat of a held reservation answers 200 `held` and takes nothing more; a repeat
    of a released or expired one (a till re-posting a sale whose first checkout gave its
    stock back) is reserved again, 201 `held`, or refused 409 like a new one; a repeat
    for a sale already deducted answers 200 `consumed` (nothing is held for it)."""
    ensure_known_outlet(context(request).db, principal, body.outlet_id)
    ctx = context(request)
    settings = ctx.settings
    lines = [(line.product_id, line.qty) for line in body.lines]
    try:
        result = _reserve(ctx, body, lines, body.ttl_seconds or settings.reservation_ttl_seconds)
    except ops.ShortStock as short:
        return short_response(short.lines)
    except ops.ReservationConflict:
        raise HTTPException(status.HTTP_409_CONFLICT, "sale id already used for another outlet") from None
    if not result.taken:
        response.status_code = status.HTTP_200_OK
    return ReservationOut(sale_id=body.sale_id, outlet_id=body.outlet_id, status=result.status)


def _busy_database(exc: BaseException) -> bool:
    """A deadlock or lock wait timeout (1213, 1205), or the server out of connections
    (1040: nothing was done yet). Safe to try again: the reservation is one transaction."""
    return is_deadlock(exc) or (
        isinstance(exc, DBAPIError)
        and exc.orig is not None
        and bool(getattr(exc.orig, "args", None))
        and exc.orig.args[0] == 1040
    )


# A burst of checkouts on a crowded server: a few short retries before the till sees 503.
retry_when_busy = retry(
    retry=retry_if_exception(_busy_database),
    stop=stop_after_attempt(6),
    wait=wait_random_exponential(multiplier=0.02, max=0.5),
    reraise=True,
)


@retry_when_busy
def _reserve(ctx: ServiceContext[Settings], body: ReservationIn, lines: list[tuple[str, int]], ttl: int) -> ops.Reservation:
    try:
        with ctx.db.transaction() as uow:
            return ops.reserve(uow, body.sale_id, body.outlet_id, lines, ttl, body.attempt)
    except IntegrityError:
        # A copy of this request (or a release of its attempt) inserted the reservation
        # first: it exists now, and the second pass answers from it (under its row lock).
        with ctx.db.transaction() as uow:
            return ops.reserve(uow, body.sale_id, body.outlet_id, lines, ttl, body.attempt)


@router.get("/reservations/{sale_id}", response_model=ReservationDetail)
def get_reservation(sale_id: str, principal: Cashier, request: Request) -> ReservationDetail:
    with context(request).db.transaction() as uow:
        found = ops.reservation(uow, sale_id)
    if found is None or not principal.may_access(found["outlet_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reservation for sale {sale_id}")
    return ReservationDetail(
        sale_id=sale_id,
        outlet_id=found["outlet_id"],
        status=found["status"],
        expires_at=iso(found["expires_at"]) or "",
        lines=[QtyLine(product_id=p, qty=q) for p, q in sorted(found["lines"].items())],
    )


@router.delete("/reservations/{sale_id}", status_code=status.HTTP_204_NO_CONTENT)
def release_reservation(
    sale_id: str,
    principal: StaffOrService,
    request: Request,
    attempt: Annotated[
        str | None, Query(min_length=1, max_length=36, description="release only this checkout attempt's hold")
    ] = None,
    outlet_id: Annotated[str | None, Query(min_length=1, max_length=36)] = None,
) -> Response:
    """Give held stock back (a failed or voided checkout). Releasing twice is harmless.
    Sales' reconciler calls this with the service token for a sale it cancelled.

    With `attempt`, only that checkout attempt's hold goes (a release arriving after the
    till re-posted the sale leaves the new hold alone). With `attempt` and `outlet_id`, a
    release that finds no reservation (the checkout gave up waiting for a request still
    queued) answers 204 and marks the attempt released: its request, when it arrives,
    takes nothing. Without them, no reservation is 404."""
    db = context(request).db
    if attempt is not None and outlet_id is not None:
        ensure_known_outlet(db, principal, outlet_id)
    for _ in range(2):
        try:
            with db.transaction() as uow:
                found = ops.reservation_status(uow, sale_id, for_update=True)
                if found is None and attempt is not None and outlet_id is not None:
                    ops.release_before_reserved(uow, sale_id, outlet_id, attempt)
                    return Response(status_code=status.HTTP_204_NO_CONTENT)
                if found is None or not principal.may_access(found[0]):
                    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reservation for sale {sale_id}")
                ops.release(uow, sale_id, attempt=attempt)
            return Response(status_code=status.HTTP_204_NO_CONTENT)
        except IntegrityError:
            continue  # the reservation committed meanwhile: release what it holds
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the reservation changed while it was being released: try again")


# --- live levels ---------------------------------------------------------------------------


@router.get(
    "/outlets/{outlet_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
)
async def stream_stock(
    outlet_id: str,
    principal: CurrentUser,
    request: Request,
    last_event_id: str | None = Header(default=None, alias="Last-Event-ID"),
) -> StreamingResponse:
    """Server-sent events: `stock` for every movement in the outlet (data: the ledger
    row and the product's level now; id: the ledger id), `ready` once live, comments as
    keep-alives, `reset` when the client fell too far behind (reload the levels), `bye`
    after a few minutes (reconnect; send Last-Event-ID to miss nothing). Send the token
    in the Authorization header (read it with fetch(), not EventSource)."""
    ensure_outlet(principal, outlet_id)
    settings = context(request).settings
    streams: StockStreams = request.app.state.stock_streams
    resume = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    return StreamingResponse(
        streams.events(
            outlet_id, last_event_id=resume, keepalive=settings.stream_keepalive_seconds, max_seconds=settings.stream_max_seconds
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
