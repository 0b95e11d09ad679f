"""Event handlers: each runs in the consumer's transaction, next to the inbox insert,
so an event redelivered by the broker is counted once. Counters are incremented with
one upsert statement each, so concurrent consumer threads never lose an update."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from pos_contracts import Envelope
from pos_contracts.events import OutletCreated, ProductData, SaleCompleted
from pos_platform.bus import PoisonMessage
from pos_platform.consumer import EventHandler
from pos_platform.db import UnitOfWork, upsert
from pos_reports.tables import daily_sales, item_sales, outlets, products, tender_sales


def sale_day(completed_at: str) -> date:
    """The UTC calendar day of an ISO 8601 timestamp (a naive one is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(completed_at)
    except ValueError as exc:
        # Retrying cannot fix a malformed contract field: dead-letter it at once.
        raise PoisonMessage(f"completed_at {completed_at!r} is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def on_sale_completed(uow: UnitOfWork, event: SaleCompleted, envelope: Envelope) -> None:
    day = sale_day(event.completed_at)
    s = uow.session
    upsert(
        s,
        daily_sales,
        {"outlet_id": event.outlet_id, "day": day},
        increments={
            "sales_count": 1,
            "items_sold": sum(line.qty for line in event.lines),
            "gross_minor": event.total_minor,
            "tax_minor": event.tax_minor,
            "net_minor": event.total_minor - event.tax_minor,
        },
    )
    for line in event.lines:
        upsert(
            s,
            item_sales,
            {"outlet_id": event.outlet_id, "day": day, "product_id": line.product_id},
            increments={"qty": line.qty, "gross_minor": line.total_minor, "tax_minor": line.tax_minor},
            sets={"sku": line.sku, "name": line.name},
        )
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for tender in event.tenders:
        by_kind[tender.kind][0] += tender.amount_minor
        by_kind[tender.kind][1] += 1
    for kind, (amount, count) in sorted(by_kind.items()):
        upsert(
            s,
            tender_sales,
            {"outlet_id": event.outlet_id, "day": day, "kind": kind},
            increments={"amount_minor": amount, "count": count},
        )


def on_outlet_created(uow: UnitOfWork, event: OutletCreated, envelope: Envelope) -> None:
    upsert(uow.session, outlets, {"outlet_id": event.outlet_id}, sets={"name": event.name, "currency": event.currency})


def on_product_data(uow: UnitOfWork, event: ProductData, envelope: Envelope) -> None:
    upsert(
        uow.session,
        products,
        {"product_id": event.product_id},
        sets={"sku": event.sku, "name": event.name, "cost_minor": event.cost_minor, "category_id": event.category_id},
    )


# Subscribed events without a handler here (UserChanged, ProductArchived, Stock*,
# LowStockDetected, PaymentCaptured) are acknowledged and ignored by the consumer.
HANDLERS: dict[str, EventHandler] = {
    "SaleCompleted": on_sale_completed,
    "OutletCreated": on_outlet_created,
    "ProductCreated": on_product_data,
    "ProductChanged": on_product_data,
}
