"""Event handlers: each runs inside the consumer's transaction (with the inbox row)."""

from __future__ import annotations

import asyncio
import logging

from pos_contracts import Envelope
from pos_contracts.events import ProductArchived, ProductChanged, ProductCreated, SaleCompleted, SaleRefunded
from pos_inventory import digest_handlers
from pos_inventory import stock as ops
from pos_inventory.config import Settings
from pos_inventory.stock import expire_reservations_once
from pos_inventory.tables import known_outlets, products
from pos_platform.app import ServiceContext
from pos_platform.consumer import BatchHandler, EventHandler
from pos_platform.db import UnitOfWork, upsert
from pos_platform.outlets import outlet_replica_handler
from pos_platform.periodic import periodic

log = logging.getLogger("pos.inventory")


def on_sale_completed(uow: UnitOfWork, event: SaleCompleted, _envelope: Envelope) -> None:
    if not ops.deduct_for_sale(uow, event):
        log.info("sale already deducted", extra={"sale_id": event.sale_id})


def on_sale_refunded(uow: UnitOfWork, event: SaleRefunded, _envelope: Envelope) -> None:
    ops.return_for_refund(uow, event)


def on_product(uow: UnitOfWork, event: ProductCreated | ProductChanged, _envelope: Envelope) -> None:
    # The oversell policy is inventory's own: never overwritten by catalog events.
    upsert(
        uow.session,
        products,
        {"product_id": event.product_id},
        sets={"sku": event.sku, "name": event.name, "active": event.active},
    )
    # Sales that named the product before its event reached inventory are deducted now.
    ops.apply_parked(uow, event.product_id)


def on_product_archived(uow: UnitOfWork, event: ProductArchived, _envelope: Envelope) -> None:
    uow.session.execute(products.update().where(products.c.product_id == event.product_id).values(active=False))


def on_sales_completed(uow: UnitOfWork, items: list[tuple[SaleCompleted, Envelope]]) -> None:
    """A batch of SaleCompleted deliveries: set-based deductions (stock.deduct_sales)."""
    ops.deduct_sales(uow, [event for event, _ in items], [env.correlation_id or env.event_id for _, env in items])


BATCH_HANDLERS: dict[str, BatchHandler] = {"SaleCompleted": on_sales_completed}

HANDLERS: dict[str, EventHandler] = {
    "OutletCreated": digest_handlers.with_zone(outlet_replica_handler(known_outlets)),
    "OutletChanged": digest_handlers.with_zone(outlet_replica_handler(known_outlets)),
    "UserChanged": digest_handlers.on_user_changed,
    "SaleCompleted": on_sale_completed,
    "SaleRefunded": on_sale_refunded,
    "ProductCreated": on_product,
    "ProductChanged": on_product,
    "ProductArchived": on_product_archived,
}


async def expire_reservations(ctx: ServiceContext[Settings]) -> None:
    """Background job: release reservations whose checkout never finished."""

    async def sweep() -> None:
        count = await asyncio.to_thread(_expire, ctx)
        if count:
            log.info("expired reservations released", extra={"count": count})

    await periodic(sweep, every=ctx.settings.reservation_sweep_interval, what="reservation sweep", logger=log)


def _expire(ctx: ServiceContext[Settings]) -> int:
    with ctx.db.transaction() as uow:
        return expire_reservations_once(uow)
