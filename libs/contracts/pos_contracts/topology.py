"""Messaging topology: one durable topic exchange, one queue per consuming service.

Both publishers and consumers declare the whole topology at start-up, so an event
published before its consumer first starts is queued, not returned as unroutable.
"""

from __future__ import annotations

EXCHANGE = "pos.events"
DEAD_LETTER_EXCHANGE = "pos.dlx"

# producer -> event types it publishes (routing key "<producer>.<Type>")
PUBLISHES: dict[str, tuple[str, ...]] = {
    "identity": ("OutletCreated", "OutletChanged", "RegisterChanged", "UserChanged"),
    "catalog": ("ProductCreated", "ProductChanged", "ProductArchived", "OutletPriceChanged", "AuditRecorded"),
    "inventory": ("StockDeducted", "StockAdjusted", "StockReturned", "StockTransferred", "LowStockDetected", "AuditRecorded"),
    "sales": ("SaleCompleted", "SaleRefunded", "SaleVoided", "ShiftClosed", "AuditRecorded"),
    "payments": ("PaymentCaptured", "PaymentRefunded", "AuditRecorded"),
}

# consumer service -> routing keys its queue is bound to
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    # Every service's sensitive actions, appended to identity's hash-chained audit log
    # (ADR 0041, ADR 0043). Identity publishes none: it writes its own entries directly.
    "identity": ("*.AuditRecorded",),
    # Outlets, so that an id naming no outlet is refused (pos_platform.outlets).
    "catalog": ("identity.OutletCreated",),
    "inventory": (
        "identity.OutletCreated",
        # The outlet's time zone, for the digest's local day (ADR 0072).
        "identity.OutletChanged",
        # Managers' addresses: the default recipients of the low-stock digest.
        "identity.UserChanged",
        "sales.SaleCompleted",
        "sales.SaleRefunded",
        "catalog.ProductCreated",
        "catalog.ProductChanged",
        "catalog.ProductArchived",
    ),
    "sales": (
        # Outlets and their registers: a sale names a register of its own outlet; the
        # outlet's time zone dates its tax rates (ADR 0066, 0072).
        "identity.OutletCreated",
        "identity.OutletChanged",
        "identity.RegisterChanged",
        # Users: who may be named as the cashier of a sale a till synced later.
        "identity.UserChanged",
        "catalog.ProductCreated",
        "catalog.ProductChanged",
        "catalog.ProductArchived",
        # Per-outlet shelf prices: what sales charges at that outlet.
        "catalog.OutletPriceChanged",
        "inventory.StockDeducted",
    ),
    "reports": (
        "identity.OutletCreated",
        "identity.OutletChanged",
        # Register names, shown instead of their ids (issue 17).
        "identity.RegisterChanged",
        "identity.UserChanged",
        "catalog.ProductCreated",
        "catalog.ProductChanged",
        "catalog.ProductArchived",
        "sales.SaleCompleted",
        "sales.SaleRefunded",
        "sales.SaleVoided",
        "sales.ShiftClosed",
        "inventory.StockDeducted",
        "inventory.StockAdjusted",
        "inventory.StockReturned",
        "inventory.StockTransferred",
        "inventory.LowStockDetected",
        "payments.PaymentCaptured",
        "payments.PaymentRefunded",
    ),
}


def queue_name(consumer: str) -> str:
    return f"pos.{consumer}"


def dead_letter_queue_name(consumer: str) -> str:
    return f"pos.{consumer}.dlq"


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic match: '*' is exactly one word, '#' zero or more."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pat: list[str], key: list[str]) -> bool:
    if not pat:
        return not key
    head, rest = pat[0], pat[1:]
    if head == "#":
        return any(_match(rest, key[i:]) for i in range(len(key) + 1))
    if not key:
        return False
    return (head == "*" or head == key[0]) and _match(rest, key[1:])


def consumers_of(routing_key: str) -> list[str]:
    return [c for c, keys in SUBSCRIPTIONS.items() if any(topic_matches(k, routing_key) for k in keys)]
