"""Stock operations inside a unit of work: used by the routes and the event handlers.

Every change of on_hand goes through `move`, which writes the ledger row in the same
transaction, so a stock level always equals the sum of its ledger rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, tuple_
from sqlalchemy.dialects import mysql, sqlite

from pos_contracts.events import (
    LowStockDetected,
    ParkedLine,
    SaleCompleted,
    SaleRefunded,
    StockAdjusted,
    StockDeducted,
    StockLine,
    StockReturned,
)
from pos_inventory.domain import low_stock, merge_lines
from pos_inventory.tables import applied_refunds, ledger, products, reservation_lines, reservations, stock, stock_exceptions
from pos_platform.db import Database, UnitOfWork, correlated, upsert, utcnow

log = logging.getLogger("pos.inventory.stock")


@dataclass(frozen=True)
class ShortLine:
    product_id: str
    requested: int
    available: int
    name: str | None = None


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
    reorder_qty: int = 0
    low_alerted: bool = False

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def insert_if_absent(uow: UnitOfWork, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True if this call inserted it. A concurrent
    insert of the same key waits for the other transaction, then sees it."""
    if uow.session.get_bind().dialect.name == "mysql":
        stmt: Any = mysql.insert(table).values(**values).prefix_with("IGNORE")
    else:
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    return uow.session.execute(stmt).rowcount == 1


def row_by_id(uow: UnitOfWork, table: Table, key: Any, *, for_update: bool = False) -> Any:
    """The row of `table` whose `id` is `key` (a count, transfer or order header), under
    its row lock when asked; None when there is none."""
    query = select(table).where(table.c.id == key)
    if for_update:
        query = query.with_for_update()
    return uow.session.execute(query).first()


def get_level(uow: UnitOfWork, outlet_id: str, product_id: str, *, for_update: bool = False) -> Level | None:
    query = select(stock.c.on_hand, stock.c.reserved, stock.c.reorder_point, stock.c.reorder_qty, stock.c.low_alerted).where(
        stock.c.outlet_id == outlet_id, stock.c.product_id == product_id
    )
    if for_update:
        query = query.with_for_update()
    row = uow.session.execute(query).first()
    if row is None:
        return None
    return Level(outlet_id, product_id, row.on_hand, row.reserved, row.reorder_point, row.reorder_qty, bool(row.low_alerted))


def locked_level(uow: UnitOfWork, outlet_id: str, product_id: str) -> Level:
    """The row, created if missing, locked for this transaction."""
    level = get_level(uow, outlet_id, product_id, for_update=True)
    if level is None:
        upsert(
            uow.session,
            stock,
            {"outlet_id": outlet_id, "product_id": product_id},
            defaults={
                "on_hand": 0,
                "reserved": 0,
                "reorder_point": 0,
                "reorder_qty": 0,
                "low_alerted": False,
                "updated_at": utcnow(),
            },
        )
        level = get_level(uow, outlet_id, product_id, for_update=True)
        assert level is not None
    return level


def _announce_low(uow: UnitOfWork, level: Level) -> Level:
    """Publish LowStockDetected when `level` newly dipped to its reorder point; returns
    the level with the flag to store."""
    verdict = low_stock(level.on_hand, level.reorder_point, level.low_alerted)
    if verdict.announce:
        uow.publish(
            LowStockDetected(
                outlet_id=level.outlet_id, product_id=level.product_id, on_hand=level.on_hand, reorder_point=level.reorder_point
            ),
            outlet_id=level.outlet_id,
        )
    return Level(
        level.outlet_id, level.product_id, level.on_hand, level.reserved, level.reorder_point, level.reorder_qty, verdict.alerted
    )


def move(
    uow: UnitOfWork,
    level: Level,
    *,
    delta: int,
    kind: str,
    reason: str = "",
    reference: str | None = None,
    actor: str | None = None,
    note: str | None = None,
    release_reserved: int = 0,
) -> Level:
    """Apply one movement to a locked row and write its ledger row (flagged oversold
    when it leaves the level below zero)."""
    after = _announce_low(
        uow,
        Level(
            level.outlet_id,
            level.product_id,
            level.on_hand + delta,
            level.reserved - release_reserved,
            level.reorder_point,
            level.reorder_qty,
            level.low_alerted,
        ),
    )
    now = utcnow()
    uow.session.execute(
        stock.update()
        .where(stock.c.outlet_id == level.outlet_id, stock.c.product_id == level.product_id)
        .values(on_hand=after.on_hand, reserved=after.reserved, low_alerted=after.low_alerted, updated_at=now)
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
            note=note,
            on_hand_after=after.on_hand,
            oversold=after.on_hand < 0,
            created_at=now,
        )
    )
    return after


def set_reorder(uow: UnitOfWork, level: Level, *, reorder_point: int | None, reorder_qty: int | None) -> Level:
    """Change the reorder settings of a locked row (raising the point above the level
    announces low stock at once)."""
    point = level.reorder_point if reorder_point is None else reorder_point
    qty = level.reorder_qty if reorder_qty is None else reorder_qty
    if (point, qty) == (level.reorder_point, level.reorder_qty):
        return level
    after = _announce_low(
        uow, Level(level.outlet_id, level.product_id, level.on_hand, level.reserved, point, qty, level.low_alerted)
    )
    uow.session.execute(
        stock.update()
        .where(stock.c.outlet_id == level.outlet_id, stock.c.product_id == level.product_id)
        .values(reorder_point=point, reorder_qty=qty, low_alerted=after.low_alerted, updated_at=utcnow())
    )
    return after


# --- products -------------------------------------------------------------------------------


def oversell_allowed(uow: UnitOfWork, product_ids: list[str]) -> set[str]:
    """The products among `product_ids` whose policy lets stock go below zero."""
    if not product_ids:
        return set()
    return set(
        uow.session.scalars(
            select(products.c.product_id).where(products.c.product_id.in_(product_ids), products.c.oversell == "allow")
        )
    )


def product_names(uow: UnitOfWork, product_ids: list[str]) -> dict[str, str]:
    if not product_ids:
        return {}
    return dict(
        uow.session.execute(select(products.c.product_id, products.c.name).where(products.c.product_id.in_(product_ids))).all()
    )


def short_lines(uow: UnitOfWork, outlet_id: str, wanted: dict[str, int], short: list[str]) -> list[ShortLine]:
    names = product_names(uow, short)
    return [ShortLine(p, wanted[p], max(0, _available(uow, outlet_id, p)), names.get(p)) for p in short]


def _available(uow: UnitOfWork, outlet_id: str, product_id: str) -> int:
    level = get_level(uow, outlet_id, product_id)
    return 0 if level is None else level.available


# --- reservations ---------------------------------------------------------------------------


class ReservationConflict(Exception):
    """The sale id already holds a reservation at another outlet."""


@dataclass(frozen=True)
class Reservation:
    """What a reservation request did: `status` is the reservation's status now (held,
    or consumed: the sale was already deducted); `taken` says this request took the
    stock (a new reservation, or a released or expired one reserved again)."""

    status: str
    taken: bool


def reserve(
    uow: UnitOfWork, sale_id: str, outlet_id: str, lines: list[tuple[str, int]], ttl_seconds: int, attempt: str | None = None
) -> Reservation:
    """All lines or none: one conditional UPDATE per line (`available >= qty`, so two
    replicas racing for the last unit cannot both get it). Products whose policy is
    `allow` are reserved whatever is left. Raises ShortStock (the caller rolls back).

    Idempotent by sale id, under the reservation row's lock: a repeat of a held (or
    consumed) reservation changes nothing and says so; a repeat of a released or expired
    one (the till re-posting a sale whose first checkout gave its stock back) reserves
    the lines again, or raises ShortStock if they are gone meanwhile: it is never
    answered as held without holding the stock. Racing repeats queue on the row lock,
    so only one of them takes the stock. Raises IntegrityError when a copy of this
    request inserted the row first (the caller tries again and finds it) and
    ReservationConflict for a sale id used at another outlet.

    `attempt` names the checkout attempt asking. A request of an attempt that was
    already released (its checkout gave up waiting, and said so before this request
    arrived) takes nothing and answers `released`."""
    now = utcnow()
    expires_at = now + timedelta(seconds=ttl_seconds)
    found = _reservation_row(uow, sale_id)
    if found is None:
        uow.session.execute(
            reservations.insert().values(
                sale_id=sale_id, outlet_id=outlet_id, status="held", expires_at=expires_at, created_at=now, attempt=attempt
            )
        )
    else:
        if found.outlet_id != outlet_id:
            raise ReservationConflict(sale_id)
        if found.status in ("held", "consumed"):
            return Reservation(found.status, taken=False)
        if found.status == "released" and attempt is not None and found.attempt == attempt:
            return Reservation("released", taken=False)
        # released or expired: nothing is held for the sale any more; take the stock again.
        uow.session.execute(
            reservations.update()
            .where(reservations.c.sale_id == sale_id)
            .values(status="held", expires_at=expires_at, attempt=attempt)
        )
        uow.session.execute(reservation_lines.delete().where(reservation_lines.c.sale_id == sale_id))
    merged = merge_lines(lines)
    _take(uow, outlet_id, merged, now)
    uow.session.execute(reservation_lines.insert(), [{"sale_id": sale_id, "product_id": p, "qty": q} for p, q in merged])
    return Reservation("held", taken=True)


# Reserve `qty` of a level if that many are available (built once: the hottest statement
# of a checkout).
_TAKE_IF_AVAILABLE = (
    stock.update()
    .where(
        stock.c.outlet_id == bindparam("o"),
        stock.c.product_id == bindparam("p"),
        stock.c.on_hand - stock.c.reserved >= bindparam("q"),
    )
    .values(reserved=stock.c.reserved + bindparam("q"), updated_at=bindparam("now"))
)


def _take(uow: UnitOfWork, outlet_id: str, merged: list[tuple[str, int]], now: Any) -> None:
    """Add `merged` to the reserved stock, every line or ShortStock. In product order
    (no deadlock between two reservations); a line short of stock is reserved anyway
    when its product's policy is `allow` (looked up only then)."""
    short: list[str] = []
    for product_id, qty in merged:
        if uow.session.execute(_TAKE_IF_AVAILABLE, {"o": outlet_id, "p": product_id, "q": qty, "now": now}).rowcount:
            continue
        if oversell_allowed(uow, [product_id]):
            upsert(
                uow.session,
                stock,
                {"outlet_id": outlet_id, "product_id": product_id},
                increments={"reserved": qty},
                defaults={"on_hand": 0, "reorder_point": 0, "reorder_qty": 0, "low_alerted": False, "updated_at": now},
            )
            continue
        short.append(product_id)
    if short:
        raise ShortStock(short_lines(uow, outlet_id, dict(merged), short))


def reservation_status(uow: UnitOfWork, sale_id: str, *, for_update: bool = False) -> tuple[str, str] | None:
    """(outlet_id, status) of a sale's reservation, or None."""
    query = select(reservations.c.outlet_id, reservations.c.status).where(reservations.c.sale_id == sale_id)
    if for_update:
        query = query.with_for_update()
    row = uow.session.execute(query).first()
    return None if row is None else (row.outlet_id, row.status)


def _reservation_row(uow: UnitOfWork, sale_id: str) -> Any:
    """The sale's reservation row (outlet_id, status, attempt) under its lock, or None."""
    query = select(reservations.c.outlet_id, reservations.c.status, reservations.c.attempt).where(
        reservations.c.sale_id == sale_id
    )
    return uow.session.execute(query.with_for_update()).first()


def reservation(uow: UnitOfWork, sale_id: str) -> dict[str, Any] | None:
    row = uow.session.execute(select(reservations).where(reservations.c.sale_id == sale_id)).first()
    if row is None:
        return None
    return {**row._mapping, "lines": reserved_lines(uow, sale_id)}


def reserved_lines(uow: UnitOfWork, sale_id: str) -> dict[str, int]:
    rows = uow.session.execute(
        select(reservation_lines.c.product_id, reservation_lines.c.qty).where(reservation_lines.c.sale_id == sale_id)
    )
    return {r.product_id: r.qty for r in rows}


def release(uow: UnitOfWork, sale_id: str, new_status: str = "released", *, attempt: str | None = None) -> bool:
    """Give back held stock; False if nothing was held. With `attempt`, only that
    checkout attempt's hold: a release that comes after the till re-posted the sale
    leaves the new attempt's stock held."""
    found = _reservation_row(uow, sale_id)
    if found is None or found.status != "held":
        return False
    if attempt is not None and found.attempt is not None and found.attempt != attempt:
        return False
    outlet_id = found.outlet_id
    for product_id, qty in sorted(reserved_lines(uow, sale_id).items()):
        uow.session.execute(
            stock.update()
            .where(stock.c.outlet_id == outlet_id, stock.c.product_id == product_id)
            .values(reserved=stock.c.reserved - qty, updated_at=utcnow())
        )
    uow.session.execute(reservations.update().where(reservations.c.sale_id == sale_id).values(status=new_status))
    return True


def release_before_reserved(uow: UnitOfWork, sale_id: str, outlet_id: str, attempt: str) -> None:
    """A checkout attempt gave up before its reservation request arrived (the request
    timed out in a queue): leave a `released` row for the attempt, so the request, when
    it comes, takes nothing. Raises IntegrityError if the request got there first (the
    caller then releases what it holds)."""
    now = utcnow()
    uow.session.execute(
        reservations.insert().values(
            sale_id=sale_id, outlet_id=outlet_id, status="released", expires_at=now, created_at=now, attempt=attempt
        )
    )


def expire_reservations_once(uow: UnitOfWork) -> int:
    """Give back the stock of every reservation past its expiry (a checkout that crashed
    or gave up); how many there were."""
    expired = expired_reservations(uow)
    for sale_id in expired:
        release(uow, sale_id, new_status="expired")
    return len(expired)


def expired_reservations(uow: UnitOfWork, limit: int = 100) -> list[str]:
    rows = uow.session.scalars(
        select(reservations.c.sale_id)
        .where(and_(reservations.c.status == "held", reservations.c.expires_at < utcnow()))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


# --- event-driven movements -----------------------------------------------------------------


UNKNOWN_PRODUCT = "unknown product: no ProductCreated for it has reached inventory; deducted when it does"


def known_products(uow: UnitOfWork, product_ids: list[str]) -> set[str]:
    """The products among `product_ids` that catalog announced to inventory. A row the
    policy endpoint made before the product's event arrived has no SKU yet and does not
    count (catalog's SKUs are never empty)."""
    if not product_ids:
        return set()
    return set(
        uow.session.scalars(select(products.c.product_id).where(products.c.product_id.in_(product_ids), products.c.sku != ""))
    )


class UnknownProducts(Exception):
    def __init__(self, product_ids: list[str]) -> None:
        super().__init__(", ".join(product_ids))
        self.product_ids = product_ids


def require_known(db: Database, product_ids: Iterable[str], wait_seconds: float = 2.0) -> None:
    """Stock is only taken in for products the catalog announced (ProductCreated reached
    inventory): a receipt for a random id made a level and ledger rows nobody could sell
    from, and a bad id then poisoned the reports' consumer. A product created a moment
    ago may still be on its way: it is waited for, `wait_seconds` at most, before the
    request is refused (UnknownProducts)."""
    wanted = set(product_ids)
    deadline = time.monotonic() + wait_seconds
    while True:
        with db.transaction() as uow:
            missing = wanted - known_products(uow, sorted(wanted))
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise UnknownProducts(sorted(missing))
        time.sleep(0.1)


def _known_now(uow: UnitOfWork, product_id: str) -> bool:
    """A locking read of the product's row: waits for a ProductCreated being applied
    right now (its upsert holds the row), so a line parked in this transaction cannot
    slip between that event's look at the exception list and its commit."""
    sku = uow.session.scalar(select(products.c.sku).where(products.c.product_id == product_id).with_for_update())
    return bool(sku)


def deduct_for_sale(uow: UnitOfWork, sale: SaleCompleted) -> bool:
    """The sale's reservation becomes a deduction, once: a sale already deducted (the
    same SaleCompleted again, even under a new event id) changes nothing and returns
    False. A sale with no held reservation (made offline, or its reservation expired) is
    deducted all the same: it already left the shop, so stock may go negative and the
    ledger row is flagged oversold.

    That holds for products inventory knows (catalog announced them, or this sale's
    reservation holds them). A line naming any other product is parked on the exception
    list (`stock_exceptions`), with no stock or ledger row, and applied by
    `apply_parked` when the product's ProductCreated arrives: a forged or corrupted event
    does not pass for an oversell, and a sale that overtook its product's event is
    deducted once the event is in. StockDeducted lists the deducted lines and the parked
    ones."""
    found = reservation_status(uow, sale.sale_id, for_update=True)
    if found is None:
        now = utcnow()
        # The reservation row is the sale's "deducted" mark; racing deliveries queue on it.
        if not insert_if_absent(
            uow,
            reservations,
            {"sale_id": sale.sale_id, "outlet_id": sale.outlet_id, "status": "consumed", "expires_at": now, "created_at": now},
        ):
            return False
    elif found[1] == "consumed":
        return False
    held = reserved_lines(uow, sale.sale_id) if found is not None and found[1] == "held" else {}
    sold = merge_lines([(line.product_id, line.qty) for line in sale.lines])
    known = known_products(uow, [p for p, _q in sold]) | set(held)
    deduct: list[tuple[str, int]] = []
    parked: list[ParkedLine] = []
    for product_id, qty in sold:
        if product_id in known or not _park(uow, sale, product_id, qty):  # (_park: unless its event committed meanwhile)
            deduct.append((product_id, qty))
        else:
            parked.append(ParkedLine(product_id=product_id, qty=qty))
    out: list[StockLine] = []
    for product_id, qty in deduct:
        level = locked_level(uow, sale.outlet_id, product_id)
        after = move(
            uow,
            level,
            delta=-qty,
            kind="sale",
            reason="sale",
            reference=sale.sale_id,
            actor=sale.cashier_id,
            release_reserved=min(held.get(product_id, 0), qty),
        )
        out.append(StockLine(product_id=product_id, qty=qty, on_hand_after=after.on_hand, oversold=after.on_hand < 0))
    # Reserved more than sold (a line was changed after reserving): give the rest back.
    sold_qty = dict(sold)
    for product_id, qty in sorted(held.items()):
        extra = qty - sold_qty.get(product_id, 0)
        if extra > 0:
            uow.session.execute(
                stock.update()
                .where(stock.c.outlet_id == sale.outlet_id, stock.c.product_id == product_id)
                .values(reserved=stock.c.reserved - extra, updated_at=utcnow())
            )
    if found is not None:
        uow.session.execute(reservations.update().where(reservations.c.sale_id == sale.sale_id).values(status="consumed"))
    if parked:
        log.warning(
            "sale names products inventory does not know: lines parked on the exception list",
            extra={"sale_id": sale.sale_id, "outlet_id": sale.outlet_id, "products": [p.product_id for p in parked]},
        )
    uow.publish(StockDeducted(sale_id=sale.sale_id, outlet_id=sale.outlet_id, lines=out, parked=parked), outlet_id=sale.outlet_id)
    return True


def deduct_sales(uow: UnitOfWork, sales: list[SaleCompleted], correlation_ids: list[str | None] | None = None) -> None:
    """Many SaleCompleted in one transaction, set-based for the common case: a held
    reservation of the sale's outlet whose lines are exactly the sale's. Those take a
    handful of statements for the whole batch (lock the reservations, their lines and
    the stock rows, one multi-row write of the levels, one of the ledger, one update of
    the reservations); the effects are `deduct_for_sale`'s, row for row, ledger rows and
    events in delivery order. Every other sale (none or another reservation, lines that
    differ, a second copy of a sale in the batch) takes `deduct_for_sale`, in the same
    transaction, in its place in the delivery order."""
    ids = sorted({sale.sale_id for sale in sales})
    found = {
        r.sale_id: r
        for r in uow.session.execute(
            select(reservations.c.sale_id, reservations.c.outlet_id, reservations.c.status)
            .where(reservations.c.sale_id.in_(ids))
            .order_by(reservations.c.sale_id)
            .with_for_update()
        )
    }
    held_ids = [sale_id for sale_id, r in found.items() if r.status == "held"]
    held: dict[str, dict[str, int]] = {}
    if held_ids:
        for r in uow.session.execute(
            select(reservation_lines.c.sale_id, reservation_lines.c.product_id, reservation_lines.c.qty).where(
                reservation_lines.c.sale_id.in_(held_ids)
            )
        ):
            held.setdefault(r.sale_id, {})[r.product_id] = r.qty
    fast: list[tuple[SaleCompleted, list[tuple[str, int]], str | None]] = []
    taken: set[str] = set()
    for sale, correlation_id in zip(sales, correlation_ids or [None] * len(sales), strict=True):
        sold = merge_lines([(line.product_id, line.qty) for line in sale.lines])
        reservation = found.get(sale.sale_id)
        if (
            sale.sale_id not in taken
            and reservation is not None
            and reservation.status == "held"
            and reservation.outlet_id == sale.outlet_id
            and held.get(sale.sale_id) == dict(sold)
        ):
            taken.add(sale.sale_id)
            fast.append((sale, sold, correlation_id))
            continue
        # In delivery order: what the set-based path collected so far goes first.
        if fast:
            _deduct_held(uow, fast)
            fast = []
        with correlated(correlation_id):
            if not deduct_for_sale(uow, sale):
                log.info("sale already deducted", extra={"sale_id": sale.sale_id})
    if fast:
        _deduct_held(uow, fast)


def _deduct_held(uow: UnitOfWork, fast: list[tuple[SaleCompleted, list[tuple[str, int]], str | None]]) -> None:
    keys = sorted({(sale.outlet_id, product_id) for sale, sold, _ in fast for product_id, _qty in sold})
    levels: dict[tuple[str, str], Level] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for r in uow.session.execute(
            select(
                stock.c.outlet_id,
                stock.c.product_id,
                stock.c.on_hand,
                stock.c.reserved,
                stock.c.reorder_point,
                stock.c.reorder_qty,
                stock.c.low_alerted,
            )
            .where(tuple_(stock.c.outlet_id, stock.c.product_id).in_(chunk))
            .order_by(stock.c.outlet_id, stock.c.product_id)
            .with_for_update()
        ):
            levels[(r.outlet_id, r.product_id)] = Level(
                r.outlet_id, r.product_id, r.on_hand, r.reserved, r.reorder_point, r.reorder_qty, bool(r.low_alerted)
            )
    now = utcnow()
    ledger_rows: list[dict[str, Any]] = []
    for sale, sold, correlation_id in fast:
        out: list[StockLine] = []
        for product_id, qty in sold:
            level = levels[(sale.outlet_id, product_id)]  # a held reservation made the row
            with correlated(correlation_id):
                after = _announce_low(
                    uow,
                    Level(
                        level.outlet_id,
                        product_id,
                        level.on_hand - qty,
                        level.reserved - qty,
                        level.reorder_point,
                        level.reorder_qty,
                        level.low_alerted,
                    ),
                )
            levels[(sale.outlet_id, product_id)] = after
            ledger_rows.append(
                {
                    "outlet_id": sale.outlet_id,
                    "product_id": product_id,
                    "delta": -qty,
                    "kind": "sale",
                    "reason": "sale",
                    "reference": sale.sale_id,
                    "actor": sale.cashier_id,
                    "note": None,
                    "on_hand_after": after.on_hand,
                    "oversold": after.on_hand < 0,
                    "created_at": now,
                }
            )
            out.append(StockLine(product_id=product_id, qty=qty, on_hand_after=after.on_hand, oversold=after.on_hand < 0))
        with correlated(correlation_id):
            uow.publish(StockDeducted(sale_id=sale.sale_id, outlet_id=sale.outlet_id, lines=out), outlet_id=sale.outlet_id)
    _write_levels(uow, [levels[k] for k in keys], now)
    uow.session.execute(ledger.insert(), ledger_rows)
    uow.session.execute(
        reservations.update()
        .where(reservations.c.sale_id.in_(sorted({sale.sale_id for sale, _, _ in fast})))
        .values(status="consumed")
    )


def _write_levels(uow: UnitOfWork, levels: list[Level], now: Any) -> None:
    """Levels this transaction holds locked, written back in one statement on MariaDB."""
    rows = [
        {
            "outlet_id": lv.outlet_id,
            "product_id": lv.product_id,
            "on_hand": lv.on_hand,
            "reserved": lv.reserved,
            "reorder_point": lv.reorder_point,
            "reorder_qty": lv.reorder_qty,
            "low_alerted": lv.low_alerted,
            "updated_at": now,
        }
        for lv in levels
    ]
    if uow.session.get_bind().dialect.name == "mysql":
        stmt = mysql.insert(stock)
        changed = {c: stmt.inserted[c] for c in ("on_hand", "reserved", "low_alerted", "updated_at")}
        uow.session.execute(stmt.on_duplicate_key_update(changed), rows)
    else:
        uow.session.execute(
            stock.update()
            .where(stock.c.outlet_id == bindparam("o"), stock.c.product_id == bindparam("p"))
            .values(
                on_hand=bindparam("v_on_hand"),
                reserved=bindparam("v_reserved"),
                low_alerted=bindparam("v_low"),
                updated_at=bindparam("v_at"),
            ),
            [
                {
                    "o": r["outlet_id"],
                    "p": r["product_id"],
                    "v_on_hand": r["on_hand"],
                    "v_reserved": r["reserved"],
                    "v_low": r["low_alerted"],
                    "v_at": now,
                }
                for r in rows
            ],
        )


def _park(uow: UnitOfWork, sale: SaleCompleted, product_id: str, qty: int) -> bool:
    """Put a line of an unknown product on the exception list; False (and nothing
    parked) if the product turns out to be known after all. The row is written before
    the second look at the product, so a ProductCreated applied at the same moment
    either sees the row (its locking read waits for this transaction) or is seen here."""
    uow.session.execute(
        stock_exceptions.insert().values(
            sale_id=sale.sale_id,
            product_id=product_id,
            outlet_id=sale.outlet_id,
            qty=qty,
            reason=UNKNOWN_PRODUCT,
            status="open",
            cashier_id=sale.cashier_id,
            created_at=utcnow(),
        )
    )
    if not _known_now(uow, product_id):
        return True
    uow.session.execute(
        stock_exceptions.delete().where(stock_exceptions.c.sale_id == sale.sale_id, stock_exceptions.c.product_id == product_id)
    )
    return False


def apply_parked(uow: UnitOfWork, product_id: str) -> int:
    """The product is known now (its ProductCreated or ProductChanged is being applied,
    after the upsert of its row): deduct the sales' lines parked for it, once each
    (ledger rows with the sale as reference, StockDeducted per sale listing what is
    still parked of that sale). Returns how many lines were applied."""
    rows = uow.session.execute(
        select(stock_exceptions)
        .where(stock_exceptions.c.product_id == product_id, stock_exceptions.c.status == "open")
        .order_by(stock_exceptions.c.sale_id)
        .with_for_update()
    ).all()
    for row in rows:
        # The sale's deduction mark: two products of one sale arriving at once take
        # turns, so the second sees the first applied and announces nothing parked.
        reservation_status(uow, row.sale_id, for_update=True)
        level = locked_level(uow, row.outlet_id, product_id)
        after = move(
            uow,
            level,
            delta=-row.qty,
            kind="sale",
            reason="sale",
            reference=row.sale_id,
            actor=row.cashier_id,
            note="parked: the product was unknown when the sale arrived",
        )
        uow.session.execute(
            stock_exceptions.update()
            .where(
                stock_exceptions.c.sale_id == row.sale_id,
                stock_exceptions.c.product_id == product_id,
                stock_exceptions.c.status == "open",
            )
            .values(status="applied", resolved_at=utcnow())
        )
        still = uow.session.execute(
            select(stock_exceptions.c.product_id, stock_exceptions.c.qty)
            .where(stock_exceptions.c.sale_id == row.sale_id, stock_exceptions.c.status == "open")
            .order_by(stock_exceptions.c.product_id)
        ).all()
        uow.publish(
            StockDeducted(
                sale_id=row.sale_id,
                outlet_id=row.outlet_id,
                lines=[StockLine(product_id=product_id, qty=row.qty, on_hand_after=after.on_hand, oversold=after.on_hand < 0)],
                parked=[ParkedLine(product_id=p, qty=q) for p, q in still],
            ),
            outlet_id=row.outlet_id,
        )
    if rows:
        log.info("parked sale lines applied", extra={"product_id": product_id, "lines": len(rows)})
    return len(rows)


def return_for_refund(uow: UnitOfWork, refund: SaleRefunded) -> bool:
    """Refunded lines marked restock go back on the shelf (ledger kind "return") and
    StockReturned is published; once per refund, whatever event id it arrives under."""
    lines = merge_lines([(line.product_id, line.qty) for line in refund.lines if line.restock and line.qty > 0])
    if not lines:
        return False
    if not insert_if_absent(
        uow,
        applied_refunds,
        {"refund_id": refund.refund_id, "sale_id": refund.sale_id, "outlet_id": refund.outlet_id, "applied_at": utcnow()},
    ):
        return False
    out: list[StockLine] = []
    for product_id, qty in lines:
        level = locked_level(uow, refund.outlet_id, product_id)
        after = move(
            uow,
            level,
            delta=qty,
            kind="return",
            reason="refund",
            reference=refund.refund_id,
            actor=refund.cashier_id,
            note=f"sale {refund.sale_id}",
        )
        out.append(StockLine(product_id=product_id, qty=qty, on_hand_after=after.on_hand, oversold=after.on_hand < 0))
    uow.publish(
        StockReturned(refund_id=refund.refund_id, sale_id=refund.sale_id, outlet_id=refund.outlet_id, lines=out),
        outlet_id=refund.outlet_id,
    )
    return True


# --- movements by people --------------------------------------------------------------------


def receive(uow: UnitOfWork, outlet_id: str, lines: list[tuple[str, int]], *, actor: str, reference: str | None) -> list[Level]:
    levels = []
    for product_id, qty in merge_lines(lines):
        level = locked_level(uow, outlet_id, product_id)
        after = move(uow, level, delta=qty, kind="receipt", reason="goods received", reference=reference, actor=actor)
        uow.publish(
            StockAdjusted(outlet_id=outlet_id, product_id=product_id, delta=qty, reason="receipt", on_hand_after=after.on_hand),
            outlet_id=outlet_id,
        )
        levels.append(after)
    return levels


def adjust(
    uow: UnitOfWork,
    outlet_id: str,
    lines: list[tuple[str, int]],
    *,
    reason: str,
    note: str | None,
    actor: str,
    reference: str | None = None,
) -> list[Level]:
    """Stock found damaged, stolen, expired, or a correction: one ledger row per line
    (kind "adjustment", with the reason). A line that would leave less than nothing on
    hand is refused (ShortStock): count the stock instead."""
    merged = merge_lines(lines)
    locked = [locked_level(uow, outlet_id, product_id) for product_id, _delta in merged]
    short = [level.product_id for level, (_p, delta) in zip(locked, merged, strict=True) if level.on_hand + delta < 0]
    if short:
        names = product_names(uow, short)
        wanted = dict(merged)
        raise ShortStock(
            [
                ShortLine(p, -wanted[p], max(0, next(lv.on_hand for lv in locked if lv.product_id == p)), names.get(p))
                for p in short
            ]
        )
    levels = []
    for level, (product_id, delta) in zip(locked, merged, strict=True):
        if delta == 0:
            levels.append(level)
            continue
        after = move(uow, level, delta=delta, kind="adjustment", reason=reason, reference=reference, actor=actor, note=note)
        uow.publish(
            StockAdjusted(outlet_id=outlet_id, product_id=product_id, delta=delta, reason=reason, on_hand_after=after.on_hand),
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
    reorder_qty: int | None = None,
    note: str | None = None,
) -> Level:
    """Set the quantity on hand to what was counted (the difference is one ledger row:
    kind "count" for a count, else "adjustment" with the reason) and/or the reorder
    settings."""
    level = set_reorder(uow, locked_level(uow, outlet_id, product_id), reorder_point=reorder_point, reorder_qty=reorder_qty)
    if on_hand is not None and on_hand != level.on_hand:
        delta = on_hand - level.on_hand
        kind = "count" if reason == "count" else "adjustment"
        level = move(uow, level, delta=delta, kind=kind, reason=reason, actor=actor, note=note)
        uow.publish(
            StockAdjusted(outlet_id=outlet_id, product_id=product_id, delta=delta, reason=reason, on_hand_after=level.on_hand),
            outlet_id=outlet_id,
        )
    return level
