"""Stock operations inside a unit of work: used by the routes and the event handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, select

from pos_contracts.events import LowStockDetected, SaleCompleted, StockAdjusted, StockDeducted, StockLine
from pos_inventory.domain import crossed_reorder_point, merge_lines
from pos_inventory.tables import ledger, reservation_lines, reservations, stock
from pos_platform.db import UnitOfWork, upsert, utcnow


@dataclass(frozen=True)
class ShortLine:
    product_id: str
    requested: int
    available: int


class ShortStock(Exception):
    def __init__(self, lines: list[ShortLine]) -> None:
        super().__init__("insufficient stock")
        self.lines = lines


@dataclass(frozen=True)
class Level:
    outlet_id: str
    product_id: str
    on_hand: int
    reserved: int
    reorder_point: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def get_level(uow: UnitOfWork, outlet_id: str, product_id: str, *, for_update: bool = False) -> Level | None:
    query = select(stock.c.on_hand, stock.c.reserved, stock.c.reorder_point).where(
        stock.c.outlet_id == outlet_id, stock.c.product_id == product_id
    )
    if for_update:
        query = query.with_for_update()
    row = uow.session.execute(query).first()
    return None if row is None else Level(outlet_id, product_id, row.on_hand, row.reserved, row.reorder_point)


def _locked_level(uow: UnitOfWork, outlet_id: str, product_id: str) -> Level:
    """The row, created if missing, locked for this transaction."""
    level = get_level(uow, outlet_id, product_id, for_update=True)
    if level is None:
        upsert(
            uow.session,
            stock,
            {"outlet_id": outlet_id, "product_id": product_id},
            defaults={"on_hand": 0, "reserved": 0, "reorder_point": 0, "updated_at": utcnow()},
        )
        level = get_level(uow, outlet_id, product_id, for_update=True)
        assert level is not None
    return level


def _move(
    uow: UnitOfWork,
    level: Level,
    *,
    delta: int,
    kind: str,
    reason: str = "",
    reference: str | None = None,
    actor: str | None = None,
    release_reserved: int = 0,
) -> Level:
    """Apply one movement to a locked row and write its ledger row."""
    after = Level(level.outlet_id, level.product_id, level.on_hand + delta, level.reserved - release_reserved, level.reorder_point)
    now = utcnow()
    uow.session.execute(
        stock.update()
        .where(stock.c.outlet_id == level.outlet_id, stock.c.product_id == level.product_id)
        .values(on_hand=after.on_hand, reserved=after.reserved, updated_at=now)
    )
    uow.session.execute(
        ledger.insert().values(
            outlet_id=level.outlet_id,
            product_id=level.product_id,
            delta=delta,
            kind=kind,
            reason=reason,
            reference=reference,
            actor=actor,
            on_hand_after=after.on_hand,
            oversold=after.on_hand < 0,
            created_at=now,
        )
    )
    if crossed_reorder_point(level.on_hand, after.on_hand, level.reorder_point):
        uow.publish(
            LowStockDetected(outlet_id=level.outlet_id, product_id=level.product_id, on_hand=after.on_hand, reorder_point=level.reorder_point),
            outlet_id=level.outlet_id,
        )
    return after


def reserve(uow: UnitOfWork, sale_id: str, outlet_id: str, lines: list[tuple[str, int]], ttl_seconds: int) -> None:
    """All lines or none: one conditional UPDATE per line. Raises ShortStock (the caller
    rolls back) and IntegrityError if the sale already holds a reservation."""
    now = utcnow()
    uow.session.execute(
        reservations.insert().values(
            sale_id=sale_id, outlet_id=outlet_id, status="held", expires_at=now + timedelta(seconds=ttl_seconds), created_at=now
        )
    )
    merged = merge_lines(lines)
    short: list[str] = []
    for product_id, qty in merged:
        result = uow.session.execute(
            stock.update()
            .where(
                stock.c.outlet_id == outlet_id,
                stock.c.product_id == product_id,
                stock.c.on_hand - stock.c.reserved >= qty,
            )
            .values(reserved=stock.c.reserved + qty, updated_at=now)
        )
        if result.rowcount == 0:
            short.append(product_id)
    if short:
        wanted = dict(merged)
        raise ShortStock([ShortLine(p, wanted[p], max(0, _available(uow, outlet_id, p))) for p in short])
    uow.session.execute(reservation_lines.insert(), [{"sale_id": sale_id, "product_id": p, "qty": q} for p, q in merged])


def _available(uow: UnitOfWork, outlet_id: str, product_id: str) -> int:
    level = get_level(uow, outlet_id, product_id)
    return 0 if level is None else level.available


def reservation_status(uow: UnitOfWork, sale_id: str, *, for_update: bool = False) -> tuple[str, str] | None:
    """(outlet_id, status) of a sale's reservation, or None."""
    query = select(reservations.c.outlet_id, reservations.c.status).where(reservations.c.sale_id == sale_id)
    if for_update:
        query = query.with_for_update()
    row = uow.session.execute(query).first()
    return None if row is None else (row.outlet_id, row.status)


def _reserved_lines(uow: UnitOfWork, sale_id: str) -> dict[str, int]:
    rows = uow.session.execute(
        select(reservation_lines.c.product_id, reservation_lines.c.qty).where(reservation_lines.c.sale_id == sale_id)
    )
    return {r.product_id: r.qty for r in rows}


def release(uow: UnitOfWork, sale_id: str, new_status: str = "released") -> bool:
    """Give back held stock; False if nothing was held."""
    found = reservation_status(uow, sale_id, for_update=True)
    if found is None or found[1] != "held":
        return False
    outlet_id = found[0]
    for product_id, qty in sorted(_reserved_lines(uow, sale_id).items()):
        uow.session.execute(
            stock.update()
            .where(stock.c.outlet_id == outlet_id, stock.c.product_id == product_id)
            .values(reserved=stock.c.reserved - qty, updated_at=utcnow())
        )
    uow.session.execute(reservations.update().where(reservations.c.sale_id == sale_id).values(status=new_status))
    return True


def expired_reservations(uow: UnitOfWork, limit: int = 100) -> list[str]:
    rows = uow.session.scalars(
        select(reservations.c.sale_id)
        .where(and_(reservations.c.status == "held", reservations.c.expires_at < utcnow()))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


def deduct_for_sale(uow: UnitOfWork, sale: SaleCompleted) -> None:
    """The sale's reservation becomes a deduction. A sale with no held reservation (made
    offline, or its reservation expired) is deducted all the same: it already left the
    shop, so stock may go negative and the ledger row is flagged oversold."""
    found = reservation_status(uow, sale.sale_id, for_update=True)
    held = _reserved_lines(uow, sale.sale_id) if found is not None and found[1] == "held" else {}
    out: list[StockLine] = []
    for product_id, qty in merge_lines([(line.product_id, line.qty) for line in sale.lines]):
        level = _locked_level(uow, sale.outlet_id, product_id)
        after = _move(
            uow,
            level,
            delta=-qty,
            kind="sale",
            reference=sale.sale_id,
            actor=sale.cashier_id,
            release_reserved=min(held.get(product_id, 0), qty),
        )
        out.append(StockLine(product_id=product_id, qty=qty, on_hand_after=after.on_hand, oversold=after.on_hand < 0))
    if found is not None:
        uow.session.execute(reservations.update().where(reservations.c.sale_id == sale.sale_id).values(status="consumed"))
    uow.publish(StockDeducted(sale_id=sale.sale_id, outlet_id=sale.outlet_id, lines=out), outlet_id=sale.outlet_id)


def receive(uow: UnitOfWork, outlet_id: str, lines: list[tuple[str, int]], *, actor: str, reference: str | None) -> list[Level]:
    levels = []
    for product_id, qty in merge_lines(lines):
        level = _locked_level(uow, outlet_id, product_id)
        after = _move(uow, level, delta=qty, kind="receipt", reason="goods received", reference=reference, actor=actor)
        uow.publish(
            StockAdjusted(outlet_id=outlet_id, product_id=product_id, delta=qty, reason="receipt", on_hand_after=after.on_hand),
            outlet_id=outlet_id,
        )
        levels.append(after)
    return levels


def set_level(
    uow: UnitOfWork,
    outlet_id: str,
    product_id: str,
    *,
    on_hand: int | None,
    reorder_point: int | None,
    reason: str,
    actor: str,
) -> Level:
    level = _locked_level(uow, outlet_id, product_id)
    if reorder_point is not None and reorder_point != level.reorder_point:
        uow.session.execute(
            stock.update()
            .where(stock.c.outlet_id == outlet_id, stock.c.product_id == product_id)
            .values(reorder_point=reorder_point)
        )
        level = Level(outlet_id, product_id, level.on_hand, level.reserved, reorder_point)
    if on_hand is not None and on_hand != level.on_hand:
        delta = on_hand - level.on_hand
        level = _move(uow, level, delta=delta, kind="count", reason=reason, actor=actor)
        uow.publish(
            StockAdjusted(outlet_id=outlet_id, product_id=product_id, delta=delta, reason=reason, on_hand_after=level.on_hand),
            outlet_id=outlet_id,
        )
    return level
