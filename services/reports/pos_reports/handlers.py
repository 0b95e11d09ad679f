"""Event handlers: what each event changes in the read models.

Each `on_*` function takes a `Changes` (see projection.py), the event and its envelope.
The consumer runs them one event per transaction, next to the inbox insert, so an event
redelivered by the broker counts once; the seed and the rebuild run the very same
functions over thousands of events per transaction (batch.py).

Buckets: the outlet's local day and hour (its timezone from OutletCreated). A sale and
its refund are counted on their own days: a refund given on Tuesday for Monday's sale
lowers Tuesday's takings, as the till's drawer does.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pos_contracts import Envelope
from pos_contracts.events import (
    LowStockDetected,
    OutletCreated,
    PaymentCaptured,
    PaymentRefunded,
    ProductArchived,
    ProductData,
    RegisterChanged,
    SaleCompleted,
    SaleRefunded,
    SaleVoided,
    ShiftClosed,
    StockAdjusted,
    StockDeducted,
    StockLine,
    StockReturned,
    StockTransferred,
    UserChanged,
)
from pos_platform.bus import PoisonMessage
from pos_platform.consumer import EventHandler
from pos_platform.db import UnitOfWork
from pos_reports.blocks import blocks_of
from pos_reports.projection import Changes, ProductInfo, StockState
from pos_reports.tables import (
    cashier_sales,
    categories,
    category_sales,
    daily_sales,
    hourly_sales,
    item_sales,
    outlets,
    product_sales,
    products,
    refund_facts,
    registers,
    sale_facts,
    shift_cash,
    shifts,
    stock_value,
    tender_currency_sales,
    tender_sales,
    users,
)

log = logging.getLogger("pos.reports")

Projector = Callable[[Changes, Any, Envelope], None]


# --- time ------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown timezone %r: using UTC", name)
        return UTC


def local_moment(timestamp: str | datetime, timezone: str, field: str = "timestamp") -> datetime:
    """The moment in the outlet's timezone (a naive timestamp is taken as UTC)."""
    if isinstance(timestamp, datetime):
        moment = timestamp
    else:
        try:
            moment = datetime.fromisoformat(timestamp)
        except ValueError as exc:
            # Retrying cannot fix a malformed contract field: dead-letter it at once.
            raise PoisonMessage(f"{field} {timestamp!r} is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(timezone))


def sale_day(completed_at: str, timezone: str = "UTC") -> date:
    """The calendar day of a timestamp at the outlet (UTC by default)."""
    return local_moment(completed_at, timezone, "completed_at").date()


def naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _register(envelope: Envelope) -> str:
    """register_id when the event carries one (the contract may grow it), else ""."""
    value = envelope.payload.get("register_id")
    return str(value)[:36] if value else ""


# --- sales -----------------------------------------------------------------------------


def on_sale_completed(ch: Changes, event: SaleCompleted, envelope: Envelope) -> None:
    outlet = ch.outlet(event.outlet_id, event.currency)
    moment = local_moment(event.completed_at, outlet.timezone, "completed_at")
    day, hour = moment.date(), moment.hour
    register = _register(envelope)
    # Discounts are not in the v1 contract yet: taken from the payload when present
    # (per line `discount_minor`, and the sale's own `discount_minor` for the total).
    raw_lines = {r.get("line_no"): r for r in envelope.payload.get("lines", []) if isinstance(r, dict)}
    known = ch.products(line.product_id for line in event.lines)

    facts_lines = []
    per_product: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    product_sets: dict[str, dict[str, Any]] = {}
    items = cost = line_discounts = 0
    for line in event.lines:
        product = known.get(line.product_id)
        # The cost sales recorded when it sold the line; an older event without it: the
        # cost in this replica of the catalog (0 for a product not announced yet).
        unit_cost = line.unit_cost_minor if line.unit_cost_minor is not None else (product.cost_minor if product else 0)
        category = line.category_id or (product.category_id if product else None) or ""
        discount = _int(raw_lines.get(line.line_no, {}).get("discount_minor"))
        figures = {
            "qty": line.qty,
            "gross_minor": line.total_minor,
            "discount_minor": discount,
            "tax_minor": line.tax_minor,
            "cost_minor": line.qty * unit_cost,
        }
        for target in (per_product[line.product_id], per_category[category]):
            for column, amount in figures.items():
                target[column] += amount
        product_sets[line.product_id] = {"category_id": category}
        if product is None or not product.currency:  # not announced by the catalog (yet): its name from the sale
            register_product(ch, line.product_id, line.sku, line.name, line.category_id, event.currency)
        items += line.qty
        cost += line.qty * unit_cost
        line_discounts += discount
        facts_lines.append([line.line_no, line.product_id, category, line.qty, unit_cost])

    claimed = ch.claim(
        sale_facts,
        (event.sale_id,),
        {
            "outlet_id": event.outlet_id,
            "currency": event.currency,
            "cashier_id": event.cashier_id,
            "register_id": register,
            "day": day,
            "hour": hour,
            "total_minor": event.total_minor,
            "lines": json.dumps(facts_lines, separators=(",", ":")),
        },
    )
    if not claimed:
        log.info("sale already counted", extra={"sale_id": event.sale_id, "event_id": envelope.event_id})
        return

    discount = _int(envelope.payload["discount_minor"]) if "discount_minor" in envelope.payload else line_discounts
    money = {"currency": event.currency}
    sale = {
        "sales_count": 1,
        "items_sold": items,
        "gross_minor": event.total_minor,
        "discount_minor": discount,
        "tax_minor": event.tax_minor,
        "cost_minor": cost,
    }
    outlet_id = event.outlet_id
    ch.add(daily_sales, (outlet_id, day), sale | {"split_count": int(len(event.tenders) > 1)}, money)
    ch.add(hourly_sales, (outlet_id, day, hour), sale, money)
    ch.add(cashier_sales, (outlet_id, day, event.cashier_id, register), sale, money)
    _add_products(ch, outlet_id, day, event.currency, per_product, product_sets)
    for category, figures in per_category.items():
        ch.add(category_sales, (outlet_id, day, category), dict(figures), money)
    for kind, (amount, count) in _by_kind(event.tenders).items():
        ch.add(tender_sales, (outlet_id, day, kind), {"amount_minor": amount, "count": count}, money)
    for tender in event.tenders:
        code = _tender_currency(tender, event.currency)
        taken = (
            tender.foreign_minor if tender.foreign_minor is not None else (0 if code != event.currency else tender.amount_minor)
        )
        figures = {"count": 1, "taken_minor": taken, "amount_minor": tender.amount_minor, "change_minor": tender.change_minor}
        ch.add(tender_currency_sales, (outlet_id, day, tender.kind, code), figures, money)


def on_sale_refunded(ch: Changes, event: SaleRefunded, envelope: Envelope) -> None:
    outlet = ch.outlet(event.outlet_id, event.currency)
    moment = local_moment(event.refunded_at, outlet.timezone, "refunded_at")
    day, hour = moment.date(), moment.hour
    claimed = ch.claim(
        refund_facts,
        (event.refund_id,),
        {"sale_id": event.sale_id, "outlet_id": event.outlet_id, "day": day, "total_minor": event.total_minor},
    )
    if not claimed:
        log.info("refund already counted", extra={"refund_id": event.refund_id, "event_id": envelope.event_id})
        return
    # Cost and category as recorded when the goods were sold.
    sale = ch.fact(sale_facts, (event.sale_id,))
    sold = {row[0]: row for row in json.loads(sale["lines"])} if sale else {}
    known = ch.products(line.product_id for line in event.lines)

    per_product: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    product_sets: dict[str, dict[str, Any]] = {}
    items = restocked_cost = 0
    for line in event.lines:
        product = known.get(line.product_id)
        original = sold.get(line.line_no)
        if original is not None and original[1] == line.product_id:
            category, unit_cost = original[2], original[4]
        else:
            category = (product.category_id if product else None) or ""
            unit_cost = product.cost_minor if product else 0
        cost_back = line.qty * unit_cost if line.restock else 0
        figures = {
            "refund_qty": line.qty,
            "refund_minor": line.total_minor,
            "refund_tax_minor": line.tax_minor,
            "refund_cost_minor": cost_back,
        }
        for target in (per_product[line.product_id], per_category[category]):
            for column, amount in figures.items():
                target[column] += amount
        product_sets[line.product_id] = {"category_id": category}
        if product is None or not product.currency:
            register_product(ch, line.product_id, line.product_id, line.product_id, category or None, event.currency)
        items += line.qty
        restocked_cost += cost_back

    money = {"currency": event.currency}
    refund = {
        "refund_count": 1,
        "refund_items": items,
        "refund_minor": event.total_minor,
        "refund_tax_minor": event.tax_minor,
        "refund_cost_minor": restocked_cost,
    }
    outlet_id = event.outlet_id
    ch.add(daily_sales, (outlet_id, day), refund, money)
    ch.add(hourly_sales, (outlet_id, day, hour), refund, money)
    ch.add(cashier_sales, (outlet_id, day, event.cashier_id, _register(envelope)), refund, money)
    _add_products(ch, outlet_id, day, event.currency, per_product, product_sets)
    for category, figures in per_category.items():
        ch.add(category_sales, (outlet_id, day, category), dict(figures), money)
    for kind, (amount, count) in _by_kind(event.tenders).items():
        ch.add(tender_sales, (outlet_id, day, kind), {"refund_minor": amount, "refund_count": count}, money)


def _add_products(
    ch: Changes,
    outlet_id: str,
    day: date,
    currency: str,
    per_product: dict[str, dict[str, int]],
    product_sets: dict[str, dict[str, Any]],
) -> None:
    """Per outlet and day, and per block of days over every outlet."""
    blocks = blocks_of(day)
    for product_id, figures in per_product.items():
        counters = dict(figures)
        ch.add(item_sales, (outlet_id, day, product_id), counters, {"currency": currency} | product_sets[product_id])
        for level, start in blocks:
            ch.add(product_sales, (level, start, currency, product_id), counters, product_sets[product_id])


def on_sale_voided(ch: Changes, event: SaleVoided, envelope: Envelope) -> None:
    """A cart voided before payment: nothing was sold, the void is counted (per cashier)."""
    outlet = ch.outlet(event.outlet_id, "")
    day = local_moment(event.voided_at, outlet.timezone, "voided_at").date()
    money = {"currency": outlet.currency} if outlet.currency else {}
    ch.add(daily_sales, (event.outlet_id, day), {"void_count": 1}, money)
    ch.add(cashier_sales, (event.outlet_id, day, event.cashier_id, _register(envelope)), {"void_count": 1}, money)


def on_shift_closed(ch: Changes, event: ShiftClosed, envelope: Envelope) -> None:
    outlet = ch.outlet(event.outlet_id, event.currency)
    day = local_moment(event.closed_at, outlet.timezone, "closed_at").date()
    local_moment(event.opened_at, outlet.timezone, "opened_at")  # validated like closed_at
    claimed = ch.claim(
        shifts,
        (event.shift_id,),
        {
            "outlet_id": event.outlet_id,
            "register_id": event.register_id,
            "cashier_id": event.cashier_id,
            "currency": event.currency,
            "day": day,
            "opened_at": event.opened_at,
            "closed_at": event.closed_at,
            "opening_float_minor": event.opening_float_minor,
            "expected_cash_minor": event.expected_cash_minor,
            "counted_cash_minor": event.counted_cash_minor,
            "over_short_minor": event.over_short_minor,
            "sales_count": event.sales_count,
            "sales_total_minor": event.sales_total_minor,
            "refunds_total_minor": event.refunds_total_minor,
        },
    )
    if claimed:
        for cash in event.cash_by_currency or ():
            ch.put(shift_cash, (event.shift_id, cash.currency), cash.model_dump(exclude={"currency"}))


def _tender_currency(tender: Any, currency: str) -> str:
    """The currency a tender was handed over in: its own (foreign cash), the sale's for
    cash and card, "" for a foreign-cash tender of an event older than the field."""
    if tender.currency:
        return str(tender.currency)
    return "" if tender.kind == "foreign_cash" else currency


def _by_kind(tenders: list[Any]) -> dict[str, tuple[int, int]]:
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for tender in tenders:
        by_kind[tender.kind][0] += tender.amount_minor
        by_kind[tender.kind][1] += 1
    return {kind: (amount, count) for kind, (amount, count) in by_kind.items()}


# --- payments ----------------------------------------------------------------------------


def on_payment_captured(ch: Changes, event: PaymentCaptured, envelope: Envelope) -> None:
    outlet = ch.outlet(event.outlet_id, event.currency)
    # Money taken offline and recorded later counts on the day it was taken.
    taken = (
        local_moment(event.taken_at, outlet.timezone, "taken_at")
        if event.taken_at
        else local_moment(envelope.occurred_at, outlet.timezone)
    )
    day = taken.date()
    for kind, (amount, count) in _by_kind(event.tenders).items():
        ch.add(
            tender_sales,
            (event.outlet_id, day, kind),
            {"captured_minor": amount, "captured_count": count},
            {"currency": event.currency},
        )


def on_payment_refunded(ch: Changes, event: PaymentRefunded, envelope: Envelope) -> None:
    outlet = ch.outlet(event.outlet_id, event.currency)
    day = local_moment(envelope.occurred_at, outlet.timezone).date()
    for kind, (amount, count) in _by_kind(event.tenders).items():
        ch.add(
            tender_sales,
            (event.outlet_id, day, kind),
            {"payment_refunded_minor": amount, "payment_refund_count": count},
            {"currency": event.currency},
        )


# --- stock -------------------------------------------------------------------------------


def stock_contribution(on_hand: int, product: ProductInfo | None) -> tuple[str, dict[str, int]]:
    """What one stock level adds to its outlet's stock value (negative levels count as
    zero and are counted apart; the cost is the product's current cost price)."""
    cost = product.cost_minor if product else 0
    units = max(on_hand, 0)
    return (product.currency if product else ""), {
        "products_in_stock": int(on_hand > 0),
        "units": units,
        "value_minor": units * cost,
        "negative_products": int(on_hand < 0),
        "uncosted_products": int(on_hand > 0 and cost == 0),
    }


def revalue(ch: Changes, outlet_id: str, before: tuple[int, ProductInfo | None], after: tuple[int, ProductInfo | None]) -> None:
    """Move a level's contribution to its outlet's stock value from `before` to `after`."""
    old_currency, old = stock_contribution(*before)
    new_currency, new = stock_contribution(*after)
    if old_currency == new_currency:
        delta = {k: new[k] - old[k] for k in new}
        if any(delta.values()):
            ch.add(stock_value, (outlet_id, new_currency), delta)
        return
    if any(old.values()):
        ch.add(stock_value, (outlet_id, old_currency), {k: -v for k, v in old.items()})
    if any(new.values()):
        ch.add(stock_value, (outlet_id, new_currency), new)


def set_level(
    ch: Changes,
    outlet_id: str,
    product_id: str,
    at: datetime,
    *,
    on_hand: int | None = None,
    reorder_point: int | None = None,
) -> None:
    """Take what an event says of a level unless the level holds a newer figure. The
    product's replica row is locked before the level is read: two events of one level
    handled at once by two consumer threads (LowStockDetected and StockAdjusted of one
    count, published together) then run one after the other, the second reading what
    the first wrote. Without it, a level not yet stored was read as absent by both and
    the last commit overwrote the other's figure (a reorder point lost, a low level not
    listed)."""
    key = (outlet_id, product_id)
    ch.lock_products([product_id])
    old = ch.stock(key)
    level, level_at = old.on_hand, old.on_hand_at
    point, point_at = old.reorder_point, old.reorder_point_at
    if on_hand is not None and (level_at is None or at >= level_at):
        level, level_at = on_hand, at
    if reorder_point is not None and (point_at is None or at >= point_at):
        point, point_at = reorder_point, at
    new = StockState(level, level_at, point, point_at, point is not None and level <= point, True)
    if new == old:
        return
    if level != old.on_hand:
        product = ch.product(product_id)
        revalue(ch, outlet_id, (old.on_hand, product), (level, product))
    ch.set_stock(key, new)


def _levels(ch: Changes, outlet_id: str, lines: list[StockLine], envelope: Envelope) -> None:
    at = naive_utc(envelope.occurred_at)
    ch.lock_products(line.product_id for line in lines)  # all at once, in key order
    for line in lines:
        set_level(ch, outlet_id, line.product_id, at, on_hand=line.on_hand_after)


def on_stock_deducted(ch: Changes, event: StockDeducted, envelope: Envelope) -> None:
    _levels(ch, event.outlet_id, event.lines, envelope)


def on_stock_returned(ch: Changes, event: StockReturned, envelope: Envelope) -> None:
    _levels(ch, event.outlet_id, event.lines, envelope)


def on_stock_transferred(ch: Changes, event: StockTransferred, envelope: Envelope) -> None:
    # on_hand_after is the level where the goods moved: the source when sent, the
    # destination when received.
    outlet_id = event.to_outlet_id if event.status == "received" else event.from_outlet_id
    _levels(ch, outlet_id, event.lines, envelope)


def on_stock_adjusted(ch: Changes, event: StockAdjusted, envelope: Envelope) -> None:
    set_level(ch, event.outlet_id, event.product_id, naive_utc(envelope.occurred_at), on_hand=event.on_hand_after)


def on_low_stock(ch: Changes, event: LowStockDetected, envelope: Envelope) -> None:
    at = naive_utc(envelope.occurred_at)
    set_level(ch, event.outlet_id, event.product_id, at, on_hand=event.on_hand, reorder_point=event.reorder_point)


# --- replicas ------------------------------------------------------------------------------


def on_outlet_created(ch: Changes, event: OutletCreated, envelope: Envelope) -> None:
    ch.put(outlets, (event.outlet_id,), {"name": event.name, "currency": event.currency, "timezone": event.timezone or "UTC"})


def put_product(ch: Changes, product_id: str, values: dict[str, Any]) -> None:
    """Write the product replica; a new cost price (or currency) revalues its stock."""
    ch.lock_products([product_id])
    before = ch.product(product_id)
    ch.put(products, (product_id,), values)
    after = ch.product(product_id)
    if before is None or (before.cost_minor, before.currency) != (after.cost_minor, after.currency):
        for (outlet_id, _), level in ch.stock_of_product(product_id).items():
            revalue(ch, outlet_id, (level.on_hand, before), (level.on_hand, after))


def register_product(ch: Changes, product_id: str, sku: str, name: str, category_id: str | None, currency: str) -> None:
    """A product the catalog has not announced: named as the sale names it, no cost."""
    values = {
        "sku": sku,
        "name": name,
        "cost_minor": 0,
        "category_id": category_id,
        "price_minor": 0,
        "currency": currency,
        "active": True,
    }
    put_product(ch, product_id, values)


def on_product_data(ch: Changes, event: ProductData, envelope: Envelope) -> None:
    put_product(
        ch,
        event.product_id,
        {
            "sku": event.sku,
            "name": event.name,
            "cost_minor": event.cost_minor,
            "category_id": event.category_id,
            "price_minor": event.price_minor,
            "currency": event.currency,
            "active": event.active,
        },
    )
    if event.category_id and event.category_name:
        ch.put(categories, (event.category_id,), {"name": event.category_name})


def on_product_archived(ch: Changes, event: ProductArchived, envelope: Envelope) -> None:
    ch.update(products, (event.product_id,), {"active": False})


def on_register_changed(ch: Changes, event: RegisterChanged, envelope: Envelope) -> None:
    values = {"outlet_id": event.outlet_id, "number": event.number, "name": event.name, "active": event.active}
    ch.put(registers, (event.register_id,), values)


def on_user_changed(ch: Changes, event: UserChanged, envelope: Envelope) -> None:
    ch.put(users, (event.user_id,), {"name": event.name, "email": event.email, "role": event.role})


# Every subscribed event type (see pos_contracts.topology) has a projector.
PROJECTORS: dict[str, Projector] = {
    "SaleCompleted": on_sale_completed,
    "SaleRefunded": on_sale_refunded,
    "SaleVoided": on_sale_voided,
    "ShiftClosed": on_shift_closed,
    "PaymentCaptured": on_payment_captured,
    "PaymentRefunded": on_payment_refunded,
    "StockDeducted": on_stock_deducted,
    "StockReturned": on_stock_returned,
    "StockTransferred": on_stock_transferred,
    "StockAdjusted": on_stock_adjusted,
    "LowStockDetected": on_low_stock,
    "OutletCreated": on_outlet_created,
    # A new name or time zone: reports show the name, and bucket sales from now on in the
    # new zone (days already counted stay as they were).
    "OutletChanged": on_outlet_created,
    "ProductCreated": on_product_data,
    "ProductChanged": on_product_data,
    "ProductArchived": on_product_archived,
    "UserChanged": on_user_changed,
    "RegisterChanged": on_register_changed,
}


def prefetch(ch: Changes, events: list[tuple[Any, Envelope]]) -> None:
    """The batch path: look up at once the facts a batch of events will ask for."""
    sales, refunds, shift_ids, levels = set(), set(), set(), set()
    for event, _ in events:
        if isinstance(event, SaleCompleted):
            sales.add((event.sale_id,))
        elif isinstance(event, SaleRefunded):
            sales.add((event.sale_id,))
            refunds.add((event.refund_id,))
        elif isinstance(event, ShiftClosed):
            shift_ids.add((event.shift_id,))
        elif isinstance(event, (StockDeducted, StockReturned)):
            levels.update((event.outlet_id, line.product_id) for line in event.lines)
        elif isinstance(event, StockTransferred):
            outlet_id = event.to_outlet_id if event.status == "received" else event.from_outlet_id
            levels.update((outlet_id, line.product_id) for line in event.lines)
        elif isinstance(event, (StockAdjusted, LowStockDetected)):
            levels.add((event.outlet_id, event.product_id))
    ch.prefetch(sale_facts, sales)
    ch.prefetch(refund_facts, refunds)
    ch.prefetch(shifts, shift_ids)
    ch.prefetch_stock(levels)


def _one_event(projector: Projector) -> EventHandler:
    def handle(uow: UnitOfWork, event: Any, envelope: Envelope) -> None:
        changes = Changes(uow.session, immediate_claims=True)
        projector(changes, event, envelope)
        changes.flush()

    handle.__name__ = projector.__name__
    handle.__doc__ = projector.__doc__
    return handle


# What the consumer runs for a delivery on its own (and to isolate a poison message).
HANDLERS: dict[str, EventHandler] = {event_type: _one_event(p) for event_type, p in PROJECTORS.items()}


def apply_batch(uow: UnitOfWork, items: list[tuple[Any, Envelope]]) -> None:
    """What the consumer runs for a batch of deliveries (one transaction): one `Changes`
    for all of them, facts looked up at once, one multi-row statement per table. Claims
    stay immediate, as on the one-event path: a second consumer racing on the same sale
    waits for this one and then sees the fact."""
    changes = Changes(uow.session, immediate_claims=True)
    prefetch(changes, items)
    for event, envelope in items:
        PROJECTORS[envelope.type](changes, event, envelope)
    changes.flush()
