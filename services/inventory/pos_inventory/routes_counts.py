"""Stock counts: enter counted quantities, see expected vs counted, post the differences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select

from pos_inventory import audit, counts
from pos_inventory.routes import context, iso, require_known
from pos_inventory.schemas import (
    CountIn,
    CountLineOut,
    CountLinesIn,
    CountOut,
)
from pos_inventory.tables import stock_counts
from pos_platform.auth import CurrentUser, Manager, Principal
from pos_platform.db import UnitOfWork, retry_on_deadlock
from pos_platform.openapi import errors
from pos_platform.outlets import ensure_known_outlet

router = APIRouter(prefix="/api/inventory", tags=["inventory: counts"])


# --- counts ------------------------------------------------------------------------------

# Lines, posting and cancelling need an open count.
COUNT_CLOSED = errors({409: "the count is already posted or cancelled"})


def _count_out(uow: UnitOfWork, row: Any, with_lines: bool = True) -> CountOut:
    return CountOut(
        id=row.id,
        outlet_id=row.outlet_id,
        status=row.status,
        note=row.note,
        created_by=row.created_by,
        created_at=iso(row.created_at) or "",
        closed_by=row.closed_by,
        closed_at=iso(row.closed_at),
        lines=[CountLineOut(**line) for line in counts.lines(uow, row.id, row.outlet_id)] if with_lines else [],
    )


def _open_count(uow: UnitOfWork, count_id: str, principal: Principal, *, for_update: bool = False) -> Any:
    row = counts.header(uow, count_id, for_update=for_update)
    if row is None or not principal.may_access(row.outlet_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"count {count_id} not found")
    return row


@router.post("/counts", response_model=CountOut, status_code=status.HTTP_201_CREATED)
def start_count(body: CountIn, principal: Manager, request: Request) -> CountOut:
    """Start a stock count in an outlet (then enter counted quantities, then post)."""
    ensure_known_outlet(context(request).db, principal, body.outlet_id)
    with context(request).db.transaction() as uow:
        count_id = counts.create(uow, body.outlet_id, note=body.note, actor=principal.user_id)
        return _count_out(uow, counts.header(uow, count_id))


@router.get("/counts", response_model=list[CountOut])
def list_counts(
    principal: CurrentUser, request: Request, outlet_id: str | None = None, limit: int = Query(default=50, ge=1, le=500)
) -> list[CountOut]:
    query = select(stock_counts)
    query = principal.where_visible(query, stock_counts.c.outlet_id, outlet_id)
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query.order_by(stock_counts.c.created_at.desc()).limit(limit)).all()
        return [_count_out(uow, r, with_lines=False) for r in rows]


@router.get("/counts/{count_id}", response_model=CountOut)
def get_count(count_id: str, principal: CurrentUser, request: Request) -> CountOut:
    """Expected (on hand when counted) vs counted, and the difference posting moves."""
    with context(request).db.transaction() as uow:
        return _count_out(uow, _open_count(uow, count_id, principal))


@router.put("/counts/{count_id}/lines", response_model=CountOut, responses=COUNT_CLOSED)
@retry_on_deadlock
def enter_counted(count_id: str, body: CountLinesIn, principal: Manager, request: Request) -> CountOut:
    """Enter counted quantities (a product counted again replaces its line)."""
    require_known(context(request), [line.product_id for line in body.lines])
    with context(request).db.transaction() as uow:
        row = _open_count(uow, count_id, principal, for_update=True)
        if row.status != "open":
            raise HTTPException(status.HTTP_409_CONFLICT, f"the count is {row.status}")
        counts.enter(
            uow, count_id, row.outlet_id, [(line.product_id, line.counted) for line in body.lines], actor=principal.user_id
        )
        return _count_out(uow, row)


@router.post("/counts/{count_id}/post", response_model=CountOut, responses=COUNT_CLOSED)
@retry_on_deadlock
def post_count(count_id: str, principal: Manager, request: Request) -> CountOut:
    """Post the differences as ledger rows (kind "count", reason "count") and close."""
    with context(request).db.transaction() as uow:
        row = _open_count(uow, count_id, principal, for_update=True)
        if row.status != "open":
            raise HTTPException(status.HTTP_409_CONFLICT, f"the count is {row.status}")
        lines = counts.lines(uow, count_id, row.outlet_id)
        counts.post(uow, count_id, row.outlet_id, actor=principal.user_id)
        audit.count_posted(uow, row, lines, principal, request)
        return _count_out(uow, counts.header(uow, count_id))


@router.post("/counts/{count_id}/cancel", response_model=CountOut, responses=COUNT_CLOSED)
def cancel_count(count_id: str, principal: Manager, request: Request) -> CountOut:
    with context(request).db.transaction() as uow:
        row = _open_count(uow, count_id, principal, for_update=True)
        if row.status != "open":
            raise HTTPException(status.HTTP_409_CONFLICT, f"the count is {row.status}")
        counts.close(uow, count_id, "cancelled", actor=principal.user_id)
        return _count_out(uow, counts.header(uow, count_id))
