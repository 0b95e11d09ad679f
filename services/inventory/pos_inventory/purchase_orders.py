"""Suppliers and purchase orders inside a unit of work (issue 17, ADR 0071): used by
routes_purchasing. A receipt against an order moves stock through `stock.move` (ledger
kind "receipt", reference the order's number) and publishes StockAdjusted, as a plain
goods receipt does."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, select

from pos_contracts.events import StockAdjusted
from pos_inventory import stock as ops
from pos_inventory.purchasing import (
    CANCELLED,
    DRAFT,
    PARTIAL,
    RECEIVABLE,
    RECEIVED,
    SENT,
    OrderedLine,
    OrderStateError,
    Sheet,
    SheetLine,
    Suggestion,
    check_receipt,
    po_number,
    status_after_receipt,
    status_text,
)
from pos_inventory.purchasing_tables import purchase_order_lines, purchase_orders, supplier_products, suppliers
from pos_inventory.tables import known_outlets, products, stock
from pos_platform.db import UnitOfWork, upsert, utcnow

# --- suppliers ------------------------------------------------------------------------------


def create_supplier(uow: UnitOfWork, *, name: str, email: str, phone: str, note: str, actor: str) -> str:
    """A new supplier; IntegrityError when another one has the name."""
    supplier_id = str(uuid.uuid4())
    uow.session.execute(
        suppliers.insert().values(
            id=supplier_id, name=name, email=email, phone=phone, note=note, created_by=actor, created_at=utcnow()
        )
    )
    return supplier_id


def update_supplier(uow: UnitOfWork, supplier_id: str, *, name: str, email: str, phone: str, note: str) -> None:
    uow.session.execute(
        suppliers.update().where(suppliers.c.id == supplier_id).values(name=name, email=email, phone=phone, note=note)
    )


def supplier(uow: UnitOfWork, supplier_id: str) -> Any:
    return uow.session.execute(select(suppliers).where(suppliers.c.id == supplier_id)).first()


def all_suppliers(uow: UnitOfWork) -> list[Any]:
    return list(uow.session.execute(select(suppliers).order_by(suppliers.c.name)))


def supplied_products(uow: UnitOfWork, supplier_ids: list[str]) -> dict[str, list[Any]]:
    """Per supplier: its products (product_id, supplier_sku, name, sku), by name."""
    if not supplier_ids:
        return {}
    rows = uow.session.execute(
        select(supplier_products, products.c.name, products.c.sku)
        .join(products, products.c.product_id == supplier_products.c.product_id, isouter=True)
        .where(supplier_products.c.supplier_id.in_(supplier_ids))
        .order_by(products.c.name, supplier_products.c.product_id)
    ).all()
    found: dict[str, list[Any]] = {s: [] for s in supplier_ids}
    for r in rows:
        found[r.supplier_id].append(r)
    return found


def link_products(uow: UnitOfWork, supplier_id: str, lines: list[tuple[str, str]]) -> None:
    """The supplier supplies these products (product, the supplier's code): added, or
    the code changed."""
    for product_id, supplier_sku in sorted(dict(lines).items()):
        upsert(
            uow.session,
            supplier_products,
            {"supplier_id": supplier_id, "product_id": product_id},
            sets={"supplier_sku": supplier_sku},
        )


def unlink_product(uow: UnitOfWork, supplier_id: str, product_id: str) -> bool:
    done = uow.session.execute(
        supplier_products.delete().where(
            supplier_products.c.supplier_id == supplier_id, supplier_products.c.product_id == product_id
        )
    )
    return bool(done.rowcount)


# --- orders ---------------------------------------------------------------------------------


def outlet_currency(uow: UnitOfWork, outlet_id: str) -> str | None:
    return uow.session.scalar(select(known_outlets.c.currency).where(known_outlets.c.outlet_id == outlet_id))


def outlet_names(uow: UnitOfWork, outlet_ids: list[str]) -> dict[str, str]:
    if not outlet_ids:
        return {}
    return dict(
        uow.session.execute(
            select(known_outlets.c.outlet_id, known_outlets.c.name).where(known_outlets.c.outlet_id.in_(outlet_ids))
        ).all()
    )


def suggestions(uow: UnitOfWork, outlet_id: str, product_ids: list[str]) -> list[Suggestion]:
    """The outlet's low-stock lines (at or below their reorder point) among `product_ids`."""
    if not product_ids:
        return []
    rows = uow.session.execute(
        select(stock.c.product_id, stock.c.on_hand, stock.c.reorder_point, stock.c.reorder_qty).where(
            stock.c.outlet_id == outlet_id,
            stock.c.product_id.in_(product_ids),
            stock.c.reorder_point > 0,
            stock.c.on_hand <= stock.c.reorder_point,
        )
    ).all()
    return [Suggestion(r.product_id, r.on_hand, r.reorder_point, r.reorder_qty) for r in rows]


def last_costs(uow: UnitOfWork, supplier_id: str, currency: str, product_ids: list[str]) -> dict[str, int]:
    """What this supplier last charged for each product, in this currency (the newest
    order's line with a cost): a new draft starts from it."""
    if not product_ids:
        return {}
    newest = (
        select(purchase_order_lines.c.product_id, func.max(purchase_order_lines.c.po_id).label("po_id"))
        .join(purchase_orders, purchase_orders.c.id == purchase_order_lines.c.po_id)
        .where(
            purchase_orders.c.supplier_id == supplier_id,
            purchase_orders.c.currency == currency,
            purchase_order_lines.c.product_id.in_(product_ids),
            purchase_order_lines.c.unit_cost_minor > 0,
        )
        .group_by(purchase_order_lines.c.product_id)
        .subquery()
    )
    rows = uow.session.execute(
        select(purchase_order_lines.c.product_id, purchase_order_lines.c.unit_cost_minor).join(
            newest,
            and_(newest.c.po_id == purchase_order_lines.c.po_id, newest.c.product_id == purchase_order_lines.c.product_id),
        )
    ).all()
    return {r.product_id: int(r.unit_cost_minor) for r in rows}


def create_order(
    uow: UnitOfWork,
    *,
    outlet_id: str,
    supplier_id: str,
    currency: str,
    lines: list[tuple[str, int, int]],
    note: str,
    actor: str,
) -> int:
    """A draft order; lines are (product, qty, unit cost in minor units)."""
    result = uow.session.execute(
        purchase_orders.insert().values(
            outlet_id=outlet_id,
            supplier_id=supplier_id,
            status=DRAFT,
            currency=currency,
            note=note,
            created_by=actor,
            created_at=utcnow(),
        )
    )
    po_id = int(result.inserted_primary_key[0])
    _insert_lines(uow, po_id, lines)
    return po_id


def _insert_lines(uow: UnitOfWork, po_id: int, lines: list[tuple[str, int, int]]) -> None:
    uow.session.execute(
        purchase_order_lines.insert(),
        [{"po_id": po_id, "product_id": p, "qty": q, "received": 0, "unit_cost_minor": c} for p, q, c in lines],
    )


def header(uow: UnitOfWork, po_id: int, *, for_update: bool = False) -> Any:
    return ops.row_by_id(uow, purchase_orders, po_id, for_update=for_update)


def lines(uow: UnitOfWork, po_id: int) -> list[Any]:
    """The order's lines with the product's name and SKU and the supplier's code."""
    return list(
        uow.session.execute(
            select(purchase_order_lines, products.c.name, products.c.sku, supplier_products.c.supplier_sku)
            .select_from(
                purchase_order_lines.join(purchase_orders, purchase_orders.c.id == purchase_order_lines.c.po_id)
                .join(products, products.c.product_id == purchase_order_lines.c.product_id, isouter=True)
                .join(
                    supplier_products,
                    and_(
                        supplier_products.c.supplier_id == purchase_orders.c.supplier_id,
                        supplier_products.c.product_id == purchase_order_lines.c.product_id,
                    ),
                    isouter=True,
                )
            )
            .where(purchase_order_lines.c.po_id == po_id)
            .order_by(products.c.name, purchase_order_lines.c.product_id)
        )
    )


def on_hand(uow: UnitOfWork, outlet_id: str, product_ids: list[str]) -> dict[str, int]:
    if not product_ids:
        return {}
    return dict(
        uow.session.execute(
            select(stock.c.product_id, stock.c.on_hand).where(stock.c.outlet_id == outlet_id, stock.c.product_id.in_(product_ids))
        ).all()
    )


def _require(order: Any, *allowed: str, doing: str) -> None:
    if order.status not in allowed:
        states = " or ".join(status_text(s) for s in allowed)
        raise OrderStateError(
            f"{po_number(order.id)} is {status_text(order.status)}: only an order that is {states} can be {doing}"
        )


def replace_lines(uow: UnitOfWork, order: Any, new_lines: list[tuple[str, int, int]], note: str | None) -> None:
    _require(order, DRAFT, doing="edited")
    uow.session.execute(purchase_order_lines.delete().where(purchase_order_lines.c.po_id == order.id))
    _insert_lines(uow, order.id, new_lines)
    if note is not None:
        uow.session.execute(purchase_orders.update().where(purchase_orders.c.id == order.id).values(note=note))


def check_sendable(order: Any) -> None:
    _require(order, DRAFT, doing="sent")


def mark_sent(uow: UnitOfWork, order: Any, *, sent_to: str, actor: str) -> None:
    """draft -> sent, only if still a draft (another request may have sent it meanwhile)."""
    done = uow.session.execute(
        purchase_orders.update()
        .where(purchase_orders.c.id == order.id, purchase_orders.c.status == DRAFT)
        .values(status=SENT, sent_by=actor, sent_at=utcnow(), sent_to=sent_to)
    )
    if not done.rowcount:
        raise OrderStateError(f"{po_number(order.id)} was sent or cancelled meanwhile")


def receive(uow: UnitOfWork, order: Any, receipt: dict[str, int], *, actor: str, supplier_name: str) -> list[ops.Level]:
    """Goods that arrived against a sent order (the order's row is locked by the
    caller): each line a ledger row of kind "receipt" at the order's outlet, the lines'
    received quantities, and the order's new status. ReceiptError (nothing moved) for a
    product not on the order or more than is outstanding."""
    _require(order, *RECEIVABLE, doing="received against")
    current = lines(uow, order.id)
    moves = check_receipt([OrderedLine(r.product_id, r.name or r.product_id, r.qty, r.received) for r in current], receipt)
    reference = po_number(order.id)
    levels = []
    for product_id, qty in moves:
        level = ops.locked_level(uow, order.outlet_id, product_id)
        after = ops.move(
            uow,
            level,
            delta=qty,
            kind="receipt",
            reason="purchase order",
            reference=reference,
            actor=actor,
            note=f"from {supplier_name}"[:200],
        )
        uow.publish(
            StockAdjusted(
                outlet_id=order.outlet_id, product_id=product_id, delta=qty, reason="receipt", on_hand_after=after.on_hand
            ),
            outlet_id=order.outlet_id,
        )
        uow.session.execute(
            purchase_order_lines.update()
            .where(purchase_order_lines.c.po_id == order.id, purchase_order_lines.c.product_id == product_id)
            .values(received=purchase_order_lines.c.received + qty)
        )
        levels.append(after)
    got = dict(moves)
    status = status_after_receipt([(r.qty, r.received + got.get(r.product_id, 0)) for r in current])
    now = utcnow()
    uow.session.execute(
        purchase_orders.update()
        .where(purchase_orders.c.id == order.id)
        .values(status=status, received_at=now, closed_at=now if status == RECEIVED else None)
    )
    return levels


def cancel(uow: UnitOfWork, order: Any) -> None:
    _require(order, DRAFT, SENT, doing="cancelled")
    uow.session.execute(
        purchase_orders.update().where(purchase_orders.c.id == order.id).values(status=CANCELLED, closed_at=utcnow())
    )


def close_short(uow: UnitOfWork, order: Any) -> None:
    """A partially received order whose rest will not come: received, with the lines
    short of what was ordered."""
    _require(order, PARTIAL, doing="closed (the rest is not coming)")
    uow.session.execute(
        purchase_orders.update().where(purchase_orders.c.id == order.id).values(status=RECEIVED, closed_at=utcnow())
    )


def sheet(uow: UnitOfWork, order: Any) -> Sheet:
    """The order as the supplier reads it."""
    found = supplier(uow, order.supplier_id)
    return Sheet(
        number=po_number(order.id),
        outlet=outlet_names(uow, [order.outlet_id]).get(order.outlet_id, order.outlet_id),
        supplier=found.name if found else "",
        currency=order.currency,
        note=order.note or "",
        lines=[
            SheetLine(r.name or r.product_id, r.sku or "", r.supplier_sku or "", r.qty, int(r.unit_cost_minor))
            for r in lines(uow, order.id)
        ],
    )
