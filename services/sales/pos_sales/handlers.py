"""Event handlers: each runs inside the consumer's transaction (with the inbox row)."""

from __future__ import annotations

from sqlalchemy import select

from pos_contracts import Envelope
from pos_contracts.events import OutletCreated, OutletPriceChanged, ProductArchived, ProductData, StockDeducted
from pos_platform.consumer import BatchHandler, EventHandler
from pos_platform.db import UnitOfWork, upsert, utcnow
from pos_platform.outlets import outlet_replica_handler
from pos_sales.cashiers import on_user_changed
from pos_sales.offline import record_stock_short
from pos_sales.registers import on_register_changed
from pos_sales.tables import known_outlets, outlet_prices, outlet_zones, price_replica, sales


def on_product(uow: UnitOfWork, event: ProductData, envelope: Envelope) -> None:
    """Keep the replica at the newest announcement (events may arrive out of order)."""
    occurred = envelope.occurred_at.replace(tzinfo=None)
    current = uow.session.execute(
        select(price_replica.c.source_event_at).where(price_replica.c.product_id == event.product_id).with_for_update()
    ).first()
    values = {
        "sku": event.sku,
        "name": event.name,
        "category_id": event.category_id,
        "price_minor": event.price_minor,
        "cost_minor": event.cost_minor,
        "currency": event.currency,
        "tax_class": event.tax_class,
        "active": event.active,
        "source_event_at": occurred,
    }
    if current is None:
        uow.session.execute(price_replica.insert().values(product_id=event.product_id, **values))
    elif current.source_event_at <= occurred:
        uow.session.execute(price_replica.update().where(price_replica.c.product_id == event.product_id).values(**values))


def on_product_archived(uow: UnitOfWork, event: ProductArchived, _envelope: Envelope) -> None:
    uow.session.execute(price_replica.update().where(price_replica.c.product_id == event.product_id).values(active=False))


def on_outlet_price(uow: UnitOfWork, event: OutletPriceChanged, envelope: Envelope) -> None:
    """An outlet's own shelf price (or back to the product's price), newest event wins."""
    occurred = envelope.occurred_at.replace(tzinfo=None)
    key = (outlet_prices.c.product_id == event.product_id) & (outlet_prices.c.outlet_id == event.outlet_id)
    current = uow.session.execute(select(outlet_prices.c.source_event_at).where(key).with_for_update()).first()
    if current is not None and current.source_event_at > occurred:
        return
    upsert(
        uow.session,
        outlet_prices,
        {"product_id": event.product_id, "outlet_id": event.outlet_id},
        sets={"price_minor": event.price_minor, "currency": event.currency, "source_event_at": occurred},
    )


def on_stock_deducted(uow: UnitOfWork, event: StockDeducted, _envelope: Envelope) -> None:
    """The sale is `fulfilled` once inventory deducted every line. Lines naming a
    product inventory did not know yet wait on its exception list (`parked`): the sale
    is `exception` until a StockDeducted of the same sale with nothing parked arrives,
    which may come first (the events of one sale are not ordered), so `exception` is
    only ever set on a sale still `pending`. `oversold` is kept once any line was."""
    flags = {"oversold": True} if any(line.oversold for line in event.lines) else {}
    if flags:
        # An offline sale whose goods had already left: listed for a manager.
        record_stock_short(uow, event.sale_id, [line for line in event.lines if line.oversold])
    if event.parked:
        uow.session.execute(
            sales.update().where(sales.c.id == event.sale_id, sales.c.fulfilment == "pending").values(fulfilment="exception")
        )
        if flags:
            uow.session.execute(sales.update().where(sales.c.id == event.sale_id).values(**flags))
        return
    uow.session.execute(
        sales.update().where(sales.c.id == event.sale_id).values(fulfilment="fulfilled", fulfilled_at=utcnow(), **flags)
    )


def on_stocks_deducted(uow: UnitOfWork, items: list[tuple[StockDeducted, Envelope]]) -> None:
    """A batch of StockDeducted: the plain ones (nothing parked, nothing oversold) are
    fulfilled with one statement, the others one by one as above."""
    special = {event.sale_id for event, _ in items if event.parked or any(line.oversold for line in event.lines)}
    plain = sorted({event.sale_id for event, _ in items} - special)
    if plain:
        uow.session.execute(sales.update().where(sales.c.id.in_(plain)).values(fulfilment="fulfilled", fulfilled_at=utcnow()))
    for event, envelope in items:
        if event.sale_id in special:
            on_stock_deducted(uow, event, envelope)


def with_zone(replica: EventHandler) -> EventHandler:
    """The outlets replica's handler, also keeping the outlet's time zone and currency
    (ADR 0072, ADR 0075)."""

    def on_outlet(uow: UnitOfWork, event: OutletCreated, envelope: Envelope) -> None:
        replica(uow, event, envelope)
        zone = {"timezone": event.timezone or "UTC", "currency": event.currency, "updated_at": utcnow()}
        upsert(uow.session, outlet_zones, {"outlet_id": event.outlet_id}, sets=zone)

    return on_outlet


BATCH_HANDLERS: dict[str, BatchHandler] = {"StockDeducted": on_stocks_deducted}

HANDLERS: dict[str, EventHandler] = {
    "OutletCreated": with_zone(outlet_replica_handler(known_outlets)),
    "OutletChanged": with_zone(outlet_replica_handler(known_outlets)),
    "RegisterChanged": on_register_changed,
    "UserChanged": on_user_changed,
    "ProductCreated": on_product,
    "ProductChanged": on_product,
    "ProductArchived": on_product_archived,
    "OutletPriceChanged": on_outlet_price,
    "StockDeducted": on_stock_deducted,
}
