"""Transfers between outlets: created, sent (in transit), received."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select

from pos_inventory import stock as ops
from pos_inventory import transfers
from pos_inventory.routes import context, iso, require_known, short_response
from pos_inventory.schemas import (
    TransferIn,
    TransferLineOut,
    TransferOut,
    TransferReceiptIn,
)
from pos_inventory.tables import transfers as transfers_table
from pos_platform.auth import CurrentUser, Manager, Principal, ensure_outlet
from pos_platform.db import UnitOfWork, retry_on_deadlock
from pos_platform.openapi import errors
from pos_platform.outlets import UnknownOutlet, ensure_known_outlet, require_outlet

router = APIRouter(prefix="/api/inventory", tags=["inventory: transfers"])


# --- transfers ---------------------------------------------------------------------------


def _transfer_out(uow: UnitOfWork, row: Any) -> TransferOut:
    lines = transfers.lines(uow, row.id)
    names = ops.product_names(uow, [r.product_id for r in lines])
    return TransferOut(
        id=row.id,
        from_outlet_id=row.from_outlet_id,
        to_outlet_id=row.to_outlet_id,
        status=row.status,
        note=row.note,
        created_by=row.created_by,
        created_at=iso(row.created_at) or "",
        sent_at=iso(row.sent_at),
        received_at=iso(row.received_at),
        lines=[
            TransferLineOut(
                product_id=r.product_id,
                name=names.get(r.product_id),
                qty=r.qty,
                received=r.received,
                damaged=r.damaged,
                missing=None if r.received is None else r.qty - r.received - (r.damaged or 0),
            )
            for r in lines
        ],
    )


def _transfer(uow: UnitOfWork, transfer_id: str, principal: Principal, *, for_update: bool = False) -> Any:
    row = transfers.header(uow, transfer_id, for_update=for_update)
    if row is None or not (principal.may_access(row.from_outlet_id) or principal.may_access(row.to_outlet_id)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"transfer {transfer_id} not found")
    return row


@router.post(
    "/transfers",
    response_model=TransferOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors({404: "the outlet the goods leave does not exist, or is not one of the caller's"}),
)
def create_transfer(body: TransferIn, principal: Manager, request: Request) -> TransferOut:
    """Plan a transfer from an outlet of the caller's to another outlet (nothing moves
    until it is sent)."""
    ensure_known_outlet(context(request).db, principal, body.from_outlet_id)
    try:
        require_outlet(context(request).db, None, body.to_outlet_id)  # another outlet: not in a manager's token
    except UnknownOutlet:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"no outlet {body.to_outlet_id} to send the goods to"
        ) from None
    require_known(context(request), [line.product_id for line in body.lines])
    with context(request).db.transaction() as uow:
        transfer_id = transfers.create(
            uow,
            body.from_outlet_id,
            body.to_outlet_id,
            [(line.product_id, line.qty) for line in body.lines],
            note=body.note,
            actor=principal.user_id,
        )
        return _transfer_out(uow, transfers.header(uow, transfer_id))


@router.get("/transfers", response_model=list[TransferOut])
def list_transfers(
    principal: CurrentUser,
    request: Request,
    outlet_id: str | None = Query(default=None, description="transfers from or to this outlet"),
    status_: str | None = Query(default=None, alias="status", pattern="^(created|sent|received|cancelled)$"),
    limit: int = Query(default=50, ge=1, le=500),
) -> list[TransferOut]:
    query = select(transfers_table)
    outlets = principal.visible_outlets(outlet_id)
    if outlets is not None:
        query = query.where(or_(transfers_table.c.from_outlet_id.in_(outlets), transfers_table.c.to_outlet_id.in_(outlets)))
    if status_:
        query = query.where(transfers_table.c.status == status_)
    with context(request).db.transaction() as uow:
        rows = uow.session.execute(query.order_by(transfers_table.c.created_at.desc()).limit(limit)).all()
        return [_transfer_out(uow, r) for r in rows]


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
def get_transfer(transfer_id: str, principal: CurrentUser, request: Request) -> TransferOut:
    with context(request).db.transaction() as uow:
        return _transfer_out(uow, _transfer(uow, transfer_id, principal))


@router.post(
    "/transfers/{transfer_id}/send",
    response_model=TransferOut,
    responses={409: {"description": "not in the state to be sent, or short of stock (nothing moved)"}},
)
def send_transfer(transfer_id: str, principal: Manager, request: Request) -> TransferOut | JSONResponse:
    """The goods leave the source outlet (ledger kind "transfer_out"): in transit."""
    try:
        return _send(context(request), transfer_id, principal)
    except ops.ShortStock as short:
        return short_response(short.lines)
    except transfers.TransferStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@retry_on_deadlock
def _send(ctx: Any, transfer_id: str, principal: Principal) -> TransferOut:
    with ctx.db.transaction() as uow:
        row = _transfer(uow, transfer_id, principal, for_update=True)
        ensure_outlet(principal, row.from_outlet_id)
        transfers.send(uow, row, actor=principal.user_id)
        return _transfer_out(uow, transfers.header(uow, transfer_id))


@router.post(
    "/transfers/{transfer_id}/receive", response_model=TransferOut, responses=errors({409: "the transfer is not in transit"})
)
def receive_transfer(transfer_id: str, body: TransferReceiptIn, principal: Manager, request: Request) -> TransferOut:
    """The destination records what arrived: lines left out arrived in full; a listed
    line gives the quantity in good condition and the damaged one (ledger kind
    "transfer_in", then an adjustment with reason "damage" for the damaged part)."""
    try:
        return _receive(context(request), transfer_id, body, principal)
    except transfers.TransferStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@retry_on_deadlock
def _receive(ctx: Any, transfer_id: str, body: TransferReceiptIn, principal: Principal) -> TransferOut:
    with ctx.db.transaction() as uow:
        row = _transfer(uow, transfer_id, principal, for_update=True)
        ensure_outlet(principal, row.to_outlet_id)
        sent = {r.product_id: r.qty for r in transfers.lines(uow, transfer_id)}
        counted = {p: (q, 0) for p, q in sent.items()}
        counted.update({line.product_id: (line.received, line.damaged) for line in body.lines})
        transfers.receive(uow, row, counted, actor=principal.user_id)
        return _transfer_out(uow, transfers.header(uow, transfer_id))


@router.post(
    "/transfers/{transfer_id}/cancel",
    response_model=TransferOut,
    responses=errors({409: "the transfer was already sent or cancelled"}),
)
def cancel_transfer(transfer_id: str, principal: Manager, request: Request) -> TransferOut:
    with context(request).db.transaction() as uow:
        row = _transfer(uow, transfer_id, principal, for_update=True)
        ensure_outlet(principal, row.from_outlet_id)
        try:
            transfers.cancel(uow, row)
        except transfers.TransferStateError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return _transfer_out(uow, transfers.header(uow, transfer_id))
