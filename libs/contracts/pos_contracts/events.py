"""Versioned event payloads. A breaking change is a new VERSION, never an edit.

Money is always integer minor units plus an ISO 4217 currency code.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


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


class TenderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: str
    amount_minor: int


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


# --- inventory ------------------------------------------------------------------------


class StockLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    product_id: str
    qty: int
    on_hand_after: int
    oversold: bool = False


class StockDeducted(Event):
    TYPE = "StockDeducted"
    sale_id: str
    outlet_id: str
    lines: list[StockLine]


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


# --- payments -------------------------------------------------------------------------


class PaymentCaptured(Event):
    TYPE = "PaymentCaptured"
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
        UserChanged,
        ProductCreated,
        ProductChanged,
        ProductArchived,
        SaleCompleted,
        StockDeducted,
        StockAdjusted,
        LowStockDetected,
        PaymentCaptured,
    )
}


def parse_payload(type_: str, version: int, payload: dict) -> Event:
    """Validate a payload against its contract; KeyError for an unknown type/version."""
    return EVENT_TYPES[(type_, version)].model_validate(payload)
