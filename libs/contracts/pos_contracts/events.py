"""Versioned event payloads. A breaking change is a new VERSION, never an edit.

Money is always integer minor units plus an ISO 4217 currency code.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1


# --- identity -------------------------------------------------------------------------


class OutletCreated(Event):
    TYPE = "OutletCreated"
    outlet_id: str
    name: str
    currency: str
    timezone: str = "UTC"


class OutletChanged(OutletCreated):
    """An outlet's name or time zone changed in identity (the currency never changes):
    the whole outlet as it now is, the same fields as OutletCreated. The services that
    keep an outlet's time zone (sales for tax dates, inventory for the digest, reports
    for local days) take it from here rather than have it set twice (ADR 0072)."""

    TYPE = "OutletChanged"


class RegisterChanged(Event):
    """A register (till) created or changed. `number` is the register's number in its
    outlet (1, 2, ...; never reused, never changed): receipt numbers carry it, so they
    are unique per outlet."""

    TYPE = "RegisterChanged"
    register_id: str
    outlet_id: str
    number: int
    name: str
    active: bool


class UserChanged(Event):
    TYPE = "UserChanged"
    user_id: str
    email: str
    name: str
    role: str
    outlets: list[str]
    active: bool


# --- catalog --------------------------------------------------------------------------


class ProductData(Event):
    product_id: str
    sku: str
    name: str
    barcodes: list[str] = []
    category_id: str | None = None
    category_name: str | None = None
    price_minor: int
    cost_minor: int = 0
    currency: str
    tax_class: str = "standard"
    active: bool = True


class ProductCreated(ProductData):
    TYPE = "ProductCreated"


class ProductChanged(ProductData):
    TYPE = "ProductChanged"


class ProductArchived(Event):
    TYPE = "ProductArchived"
    product_id: str


# --- sales ----------------------------------------------------------------------------


class SaleLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    line_no: int
    product_id: str
    sku: str
    name: str
    category_id: str | None = None
    qty: int
    unit_price_minor: int
    tax_rate_bp: int
    tax_minor: int
    total_minor: int
    # Optional additions to v1 (an older event without them is still valid; consumers
    # read 0 / None): unit price x qty before discounts, and the discount taken off the
    # line (its own plus its share of the cart's): gross_minor - discount_minor is what
    # the line was charged before tax is added (prices without tax) or with it (with).
    gross_minor: int | None = None
    discount_minor: int = 0
    # Optional addition to v1: the product's unit cost (ProductData.cost_minor) as sales'
    # replica of the catalog knew it when the line was sold, so the reports
    # cost the line at sale time even before they have heard of the product. None in an
    # older event, or when sales' replica row predates the cost (consumers fall back to
    # their own catalog replica). Never on a receipt: the cost is not the cashier's.
    unit_cost_minor: int | None = None


class TenderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: str
    amount_minor: int  # what the tender paid, in the sale's (outlet's) currency
    # Optional additions to v1 (issue 16, ADR 0061, ADR 0072): a tender in another currency
    # than the sale's (foreign cash): its currency, what was handed over in it (minor units
    # of that currency), the rate stamped on it (units of `currency` per unit of the sale's
    # currency, a decimal string), its source and date, and the change given in the sale's
    # currency. None (change 0) for a tender in the sale's own currency and in older events.
    currency: str | None = None
    foreign_minor: int | None = None
    rate: str | None = None
    rate_source: str | None = None
    rate_as_of: str | None = None
    change_minor: int = 0

    @model_serializer(mode="wrap")
    def _only_what_is_said(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A tender in the sale's own currency is written as before these fields existed
        (kind and amount): the foreign fields only when there are some."""
        data: dict[str, Any] = handler(self)
        for key in ("currency", "foreign_minor", "rate", "rate_source", "rate_as_of"):
            if data.get(key) is None:
                data.pop(key, None)
        if not data.get("change_minor"):
            data.pop("change_minor", None)
        return data


class SaleCompleted(Event):
    TYPE = "SaleCompleted"
    sale_id: str
    outlet_id: str
    cashier_id: str
    receipt_number: str
    currency: str
    lines: list[SaleLine]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    tenders: list[TenderLine]
    completed_at: str
    # Optional additions to v1 (absent from older events: 0 / None).
    discount_minor: int = 0  # every discount on the sale (the sum of the lines')
    register_id: str | None = None
    shift_id: str | None = None
    rounding_minor: int = 0  # cash rounding on the amount due (not part of total_minor)
    # A sale made offline at the till and synced later: completed_at is when it was sold
    # (the day reports count it on), received_at when the services heard of it.
    offline: bool = False
    received_at: str | None = None


class RefundLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    line_no: int
    product_id: str
    qty: int
    total_minor: int  # refunded amount for this line, tax included
    tax_minor: int
    restock: bool  # True: the goods go back on the shelf (inventory returns them)


class SaleRefunded(Event):
    TYPE = "SaleRefunded"
    refund_id: str
    sale_id: str
    outlet_id: str
    cashier_id: str
    approved_by: str | None = None
    currency: str
    lines: list[RefundLine]
    total_minor: int
    tax_minor: int
    tenders: list[TenderLine]
    refunded_at: str
    # Optional additions to v1 (absent from older events): where the refund was given.
    register_id: str | None = None
    shift_id: str | None = None
    rounding_minor: int = 0  # cash rounding of the cash given back


class SaleVoided(Event):
    TYPE = "SaleVoided"
    sale_id: str
    outlet_id: str
    cashier_id: str
    approved_by: str | None = None
    voided_at: str
    register_id: str | None = None  # optional addition to v1 (absent from older events)


class ShiftCash(BaseModel):
    """The drawer in one currency at a shift's close (ADR 0063), in minor units of
    `currency`: the outlet's own (`own`) or a foreign one. counted and over/short are None
    for a currency that was not counted."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    currency: str
    own: bool
    opening_float_minor: int
    sales_minor: int  # cash taken in it (foreign: the notes handed over)
    refunds_minor: int = 0  # always 0 for a foreign currency (refunds are paid in the outlet's)
    in_minor: int = 0
    out_minor: int = 0
    change_given_minor: int = 0  # own currency: change given for foreign cash
    expected_minor: int
    counted_minor: int | None = None
    over_short_minor: int | None = None


class ShiftClosed(Event):
    TYPE = "ShiftClosed"
    shift_id: str
    outlet_id: str
    register_id: str
    cashier_id: str
    currency: str
    opened_at: str
    closed_at: str
    opening_float_minor: int
    expected_cash_minor: int
    counted_cash_minor: int
    over_short_minor: int
    sales_count: int
    sales_total_minor: int
    refunds_total_minor: int
    # Optional addition to v1 (ADR 0072): the drawer per currency, own first, as the
    # Z-report's cash_by_currency. None in older events and for shifts closed before cash
    # control per currency (ADR 0063): the figures above are then the only ones.
    cash_by_currency: list[ShiftCash] | None = None

    @model_serializer(mode="wrap")
    def _without_absent_cash(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("cash_by_currency") is None:
            data.pop("cash_by_currency", None)
        return data


# --- inventory ------------------------------------------------------------------------


class StockLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    product_id: str
    qty: int
    on_hand_after: int
    oversold: bool = False


class ParkedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    product_id: str
    qty: int


class StockDeducted(Event):
    """A sale's lines deducted by inventory. A sale naming a product inventory does not
    know (no ProductCreated reached it yet) has those lines parked on inventory's
    exception list instead, listed in `parked`; they are deducted, and announced by
    another StockDeducted of the same sale, when the product arrives. `parked` is the
    sale's lines still waiting after this event: empty means the sale is fully deducted."""

    TYPE = "StockDeducted"
    sale_id: str
    outlet_id: str
    lines: list[StockLine]
    # Optional addition to v1 (absent from older events: nothing parked).
    parked: list[ParkedLine] = []


class StockAdjusted(Event):
    TYPE = "StockAdjusted"
    outlet_id: str
    product_id: str
    delta: int
    reason: str
    on_hand_after: int


class LowStockDetected(Event):
    TYPE = "LowStockDetected"
    outlet_id: str
    product_id: str
    on_hand: int
    reorder_point: int


class StockReturned(Event):
    TYPE = "StockReturned"
    refund_id: str
    sale_id: str
    outlet_id: str
    lines: list[StockLine]


class StockTransferred(Event):
    TYPE = "StockTransferred"
    transfer_id: str
    from_outlet_id: str
    to_outlet_id: str
    status: str  # sent | received
    lines: list[StockLine]


# --- payments -------------------------------------------------------------------------


class PaymentCaptured(Event):
    TYPE = "PaymentCaptured"
    payment_id: str
    sale_id: str
    outlet_id: str
    currency: str
    amount_minor: int
    # A foreign-cash tender carries its currency, foreign amount, rate, source, date and
    # change (TenderLine's optional fields, as in SaleCompleted); absent from events
    # published before payments filled them in: read as a tender in `currency` only.
    tenders: list[TenderLine]
    # When the money was taken, if not when the payment was recorded (a sale a till made
    # offline and synced later): reports count it on that day. Optional addition to v1.
    taken_at: str | None = None


class PaymentRefunded(Event):
    TYPE = "PaymentRefunded"
    refund_id: str
    payment_id: str
    sale_id: str
    outlet_id: str
    currency: str
    amount_minor: int
    tenders: list[TenderLine]


EVENT_TYPES: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.VERSION): cls
    for cls in (
        OutletCreated,
        OutletChanged,
        RegisterChanged,
        UserChanged,
        ProductCreated,
        ProductChanged,
        ProductArchived,
        SaleCompleted,
        SaleRefunded,
        SaleVoided,
        ShiftClosed,
        StockDeducted,
        StockAdjusted,
        StockReturned,
        StockTransferred,
        LowStockDetected,
        PaymentCaptured,
        PaymentRefunded,
    )
}


def parse_payload(type_: str, version: int, payload: dict[str, Any]) -> Event:
    """Validate a payload against its contract; KeyError for an unknown type/version."""
    return EVENT_TYPES[(type_, version)].model_validate(payload)


# --- audit (any service -> identity's hash-chained audit log) ------------------------


class AuditRecorded(Event):
    """A sensitive action done in another service (refund, void, price change, stock
    adjustment, ...), for identity's tamper-evident audit log. Published through the
    producer's outbox in the same transaction as the action; see docs/security.md.
    Never put a password, PIN or token in `details`."""

    TYPE = "AuditRecorded"
    action: str  # "<object>.<verb>", e.g. "sale.refunded", "product.price_changed"
    outcome: str = "success"
    actor_id: str | None = None
    actor_email: str | None = None
    actor_role: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    outlet_id: str | None = None
    source_ip: str | None = None
    # e.g. {"before": {...}, "after": {...}, "approved_by": "<manager id>"}
    details: dict[str, Any] = {}


EVENT_TYPES[(AuditRecorded.TYPE, AuditRecorded.VERSION)] = AuditRecorded


# --- catalog: per-outlet prices (appended) ---------------------------------------------


class OutletPriceChanged(Event):
    """One outlet sells a product at its own shelf price (`price_minor`), or again at
    the product's price (`price_minor` None). Whoever prices sales keeps these next to
    ProductCreated/ProductChanged prices."""

    TYPE = "OutletPriceChanged"
    product_id: str
    outlet_id: str
    price_minor: int | None
    currency: str


EVENT_TYPES[(OutletPriceChanged.TYPE, OutletPriceChanged.VERSION)] = OutletPriceChanged
