"""Stock counts: counted quantities entered for some products, compared with what was
expected, and the differences posted as ledger rows (kind "count")."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from pos_contracts.events import StockAdjusted
from pos_inventory import stock as ops
from pos_inventory.domain import count_difference
from pos_inventory.tables import stock, stock_count_lines, stock_counts
from pos_platform.db import UnitOfWork, upsert, utcnow


class CountClosed(Exception):
    """The count was already posted or cancelled."""


def create(uow: UnitOfWork, outlet_id: str, *, note: str | None, actor: str) -> str:
    count_id = str(uuid.uuid4())
    uow.session.execute(
        stock_counts.insert().values(
            id=count_id, outlet_id=outlet_id, status="open", note=note, created_by=actor, created_at=utcnow()
        )
    )
    return count_id


def header(uow: UnitOfWork, count_id: str, *, for_update: bool = False) -> Any:
    return ops.row_by_id(uow, stock_counts, count_id, for_update=for_update)


def enter(uow: UnitOfWork, count_id: str, outlet_id: str, lines: list[tuple[str, int]], *, actor: str) -> None:
    """Record counted quantities; `expected` is what is on hand at this moment (a line
    counted again replaces the earlier entry)."""
    now = utcnow()
    for product_id, counted in sorted(dict(lines).items()):
        level = ops.get_level(uow, outlet_id, product_id)
        upsert(
            uow.session,
            stock_count_lines,
            {"count_id": count_id, "product_id": product_id},
            sets={"counted": counted, "expected": 0 if level is None else level.on_hand, "entered_by": actor, "entered_at": now},
        )


def lines(uow: UnitOfWork, count_id: str, outlet_id: str) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(stock_count_lines, stock.c.on_hand)
        .join(stock, (stock.c.outlet_id == outlet_id) & (stock.c.product_id == stock_count_lines.c.product_id), isouter=True)
        .where(stock_count_lines.c.count_id == count_id)
        .order_by(stock_count_lines.c.product_id)
    ).all()
    names = ops.product_names(uow, [r.product_id for r in rows])
    return [
        {
            "product_id": r.product_id,
            "name": names.get(r.product_id),
            "expected": r.expected,
            "counted": r.counted,
            "difference": count_difference(r.counted, r.expected),
            "on_hand_now": r.on_hand or 0,
            "entered_by": r.entered_by,
            "entered_at": r.entered_at.isoformat() + "Z",
        }
        for r in rows
    ]


def post(uow: UnitOfWork, count_id: str, outlet_id: str, *, actor: str) -> int:
    """Post every difference as a ledger row (kind "count") and close the count; returns
    the number of lines that moved stock."""
    moved = 0
    for line in sorted(lines(uow, count_id, outlet_id), key=lambda x: x["product_id"]):
        delta = line["difference"]
        if delta == 0:
            continue
        level = ops.locked_level(uow, outlet_id, line["product_id"])
        after = ops.move(uow, level, delta=delta, kind="count", reason="count", reference=count_id, actor=actor)
        uow.publish(
            StockAdjusted(
                outlet_id=outlet_id, product_id=line["product_id"], delta=delta, reason="count", on_hand_after=after.on_hand
            ),
            outlet_id=outlet_id,
        )
        moved += 1
    close(uow, count_id, "posted", actor=actor)
    return moved


def close(uow: UnitOfWork, count_id: str, status: str, *, actor: str) -> None:
    uow.session.execute(
        stock_counts.update().where(stock_counts.c.id == count_id).values(status=status, closed_by=actor, closed_at=utcnow())
    )
