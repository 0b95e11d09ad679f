"""Request and response models of suppliers and purchase orders (routes_purchasing)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from pos_inventory.digest_schemas import EMAIL_PATTERN
from pos_inventory.purchasing import MAX_QTY, MAX_UNIT_COST_MINOR
from pos_platform.schemas import RequestModel


class SupplierIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=254, description="where purchase orders are mailed; empty: none")
    phone: str = Field(default="", max_length=40)
    note: str = Field(default="", max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("give the supplier a name")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip()
        if value and not EMAIL_PATTERN.match(value):
            raise ValueError(f"{value!r} is not an e-mail address (name@domain.example)")
        return value


class SupplierProductIn(RequestModel):
    product_id: str = Field(min_length=1, max_length=36)
    supplier_sku: str = Field(default="", max_length=64, description="the supplier's own code for the product")


class SupplierProductsIn(RequestModel):
    lines: list[SupplierProductIn] = Field(min_length=1, max_length=1000)


class SupplierProductOut(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    supplier_sku: str


class SupplierOut(BaseModel):
    id: str
    name: str
    email: str
    phone: str
    note: str
    created_at: str
    products: list[SupplierProductOut]


class OrderLineIn(RequestModel):
    product_id: str = Field(min_length=1, max_length=36)
    qty: int = Field(gt=0, le=MAX_QTY)
    unit_cost_minor: int = Field(default=0, ge=0, le=MAX_UNIT_COST_MINOR, description="in the order's currency, minor units")


class PurchaseOrderIn(RequestModel):
    outlet_id: str = Field(min_length=1, max_length=36)
    supplier_id: str = Field(min_length=1, max_length=36)
    from_suggestions: bool = Field(
        default=False,
        description="draft the lines from the outlet's reorder suggestions (its low-stock lines of this supplier's products)",
    )
    lines: list[OrderLineIn] = Field(default=[], max_length=1000, description="the lines, when not drafted from suggestions")
    note: str = Field(default="", max_length=200)


class OrderLinesIn(RequestModel):
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000, description="every line of the draft (replaces them)")
    note: str | None = Field(default=None, max_length=200)


class SendIn(RequestModel):
    mail: bool = Field(
        default=True,
        description="mail the order to the supplier's address; false: mark it sent (it went by CSV, phone or a portal)",
    )


class ReceiptLineIn(RequestModel):
    product_id: str = Field(min_length=1, max_length=36)
    qty: int = Field(ge=0, le=MAX_QTY, description="arrived now")


class OrderReceiptIn(RequestModel):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class OrderLineOut(BaseModel):
    product_id: str
    name: str | None
    sku: str | None
    supplier_sku: str
    qty: int
    received: int
    outstanding: int
    unit_cost_minor: int
    total_minor: int
    on_hand: int  # at the order's outlet now


class PurchaseOrderOut(BaseModel):
    id: int
    number: str  # "PO-000042"
    outlet_id: str
    outlet_name: str | None
    supplier_id: str
    supplier_name: str
    supplier_email: str
    status: str  # draft | sent | partially_received | received | cancelled
    currency: str
    note: str
    created_by: str
    created_at: str
    sent_at: str | None
    sent_to: str | None
    received_at: str | None
    closed_at: str | None
    total_minor: int
    lines: list[OrderLineOut]
