"""Transfers between outlets: created, sent (the goods leave the source: in transit),
received (good and damaged quantities recorded at the destination)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from pos_contracts.events import StockLine, StockTransferred
from pos_inventory import stock as ops
from pos_inventory.domain import merge_lines
from pos_inventory.tables import transfer_lines, transfers
from pos_platform.db import UnitOfWork, utcnow


class TransferStateError(Exception):
    """The transfer is not in the state this step needs."""


def create(
    uow: UnitOfWork, from_outlet: str, to_outlet: str, lines: list[tuple[str, int]], *, note: str | None, actor: str
) -> str:
    transfer_id = str(uuid.uuid4())
    uow.session.execute(
        transfers.insert().values(
            id=transfer_id,
            from_outlet_id=from_outlet,
            to_outlet_id=to_outlet,
            status="created",
            note=note,
            created_by=actor,
            created_at=utcnow(),
        )
    )
    uow.session.execute(
        transfer_lines.insert(), [{"transfer_id": transfer_id, "product_id": p, "qty": q} for p, q in merge_lines(lines)]
    )
    return transfer_id


def header(uow: UnitOfWork, transfer_id: str, *, for_update: bool = False) -> Any:
    return ops.row_by_id(uow, transfers, transfer_id, for_update=for_update)


def lines(uow: UnitOfWork, transfer_id: str) -> list[Any]:
    return list(
        uow.session.execute(
            select(transfer_lines).where(transfer_lines.c.transfer_id == transfer_id).order_by(transfer_lines.c.product_id)
        )
    )


def _moved(uow: UnitOfWork, transfer: Any, out: list[StockLine], outlet_id: str, *, status: str, **stamps: Any) -> None:
    """The transfer is now `status` (who and when in `stamps`): StockTransferred with the
    lines that moved, published for `outlet_id`, the outlet whose stock moved."""
    uow.session.execute(transfers.update().where(transfers.c.id == transfer.id).values(status=status, **stamps))
    uow.publish(
        StockTransferred(
            transfer_id=transfer.id,
            from_outlet_id=transfer.from_outlet_id,
            to_outlet_id=transfer.to_outlet_id,
            status=status,
            lines=out,
        ),
        outlet_id=outlet_id,
    )


def send(uow: UnitOfWork, transfer: Any, *, actor: str) -> None:
    """The goods leave the source (ledger kind "transfer_out"). Only what is available
    (on hand, not reserved) can leave, unless the product's policy allows overselling."""
    if transfer.status != "created":
        raise TransferStateError(f"the transfer is {transfer.status}; only a created transfer can be sent")
    wanted = [(r.product_id, r.qty) for r in lines(uow, transfer.id)]
    allowed = ops.oversell_allowed(uow, [p for p, _q in wanted])
    locked = [ops.locked_level(uow, transfer.from_outlet_id, p) for p, _q in wanted]
    short = [lv.product_id for lv, (p, q) in zip(locked, wanted, strict=True) if p not in allowed and lv.available < q]
    if short:
        names = ops.product_names(uow, short)
        qty = dict(wanted)
        raise ops.ShortStock(
            [
                ops.ShortLine(p, qty[p], max(0, next(lv.available for lv in locked if lv.product_id == p)), names.get(p))
                for p in short
            ]
        )
    out = []
    for level, (product_id, qty) in zip(locked, wanted, strict=True):
        after = ops.move(
            uow,
            level,
            delta=-qty,
            kind="transfer_out",
            reason="transfer",
            reference=transfer.id,
            actor=actor,
            note=f"to {transfer.to_outlet_id}",
        )
        out.append(StockLine(product_id=product_id, qty=qty, on_hand_after=after.on_hand, oversold=after.on_hand < 0))
    _moved(uow, transfer, out, transfer.from_outlet_id, status="sent", sent_by=actor, sent_at=utcnow())


def receive(uow: UnitOfWork, transfer: Any, counted: dict[str, tuple[int, int]], *, actor: str) -> None:
    """Record what arrived: per product (received in good condition, damaged). Both go
    into the destination's stock (kind "transfer_in"); the damaged part then leaves it
    again as an adjustment with reason "damage", so the ledger shows where it broke.
    What was sent but neither received nor damaged is missing (lost in transit)."""
    if transfer.status != "sent":
        raise TransferStateError(f"the transfer is {transfer.status}; only a sent transfer can be received")
    sent = {r.product_id: r.qty for r in lines(uow, transfer.id)}
    unknown = sorted(set(counted) - set(sent))
    if unknown:
        raise ValueError(f"not in this transfer: {', '.join(unknown)}")
    for product_id, (good, damaged) in counted.items():
        if good + damaged > sent[product_id]:
            raise ValueError(f"{product_id}: {good} received + {damaged} damaged is more than the {sent[product_id]} sent")
    out = []
    for product_id in sorted(sent):
        good, damaged = counted.get(product_id, (0, 0))
        level = ops.locked_level(uow, transfer.to_outlet_id, product_id)
        if good + damaged:
            level = ops.move(
                uow,
                level,
                delta=good + damaged,
                kind="transfer_in",
                reason="transfer",
                reference=transfer.id,
                actor=actor,
                note=f"from {transfer.from_outlet_id}",
            )
        if damaged:
            level = ops.move(
                uow,
                level,
                delta=-damaged,
                kind="adjustment",
                reason="damage",
                reference=transfer.id,
                actor=actor,
                note="damaged in transit",
            )
        uow.session.execute(
            transfer_lines.update()
            .where(transfer_lines.c.transfer_id == transfer.id, transfer_lines.c.product_id == product_id)
            .values(received=good, damaged=damaged)
        )
        out.append(StockLine(product_id=product_id, qty=good, on_hand_after=level.on_hand, oversold=level.on_hand < 0))
    _moved(uow, transfer, out, transfer.to_outlet_id, status="received", received_by=actor, received_at=utcnow())


def cancel(uow: UnitOfWork, transfer: Any) -> None:
    if transfer.status != "created":
        raise TransferStateError(f"the transfer is {transfer.status}; only a transfer not yet sent can be cancelled")
    uow.session.execute(transfers.update().where(transfers.c.id == transfer.id).values(status="cancelled"))
