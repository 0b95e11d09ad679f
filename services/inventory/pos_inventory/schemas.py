from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from pos_platform.schemas import RequestModel

# Request bodies: pos_platform.schemas.RequestModel (extra fields, strict numbers, no
# control characters).
Strict = RequestModel


class QtyLine(Strict):
    product_id: str = Field(min_length=1, max_length=36)
    qty: int = Field(gt=0, le=100_000)


class ReservationIn(Strict):
    sale_id: str = Field(min_length=1, max_length=36)
    outlet_id: str = Field(min_length=1, max_length=36)
    lines: list[QtyLine] = Field(min_length=1, max_length=500)
    ttl_seconds: int | None = Field(default=None, ge=5, le=3600, description="hold time; the service's default when left out")
    attempt: str | None = Field(
        default=None,
        min_length=1,
        max_length=36,
        description="the checkout attempt asking: a request of an attempt already released (its checkout gave up waiting) takes nothing",
    )


class ReservationOut(BaseModel):
    sale_id: str
    outlet_id: str
    status: str


class ReservationDetail(ReservationOut):
    expires_at: str
    lines: list[QtyLine]


class ReceiptIn(Strict):
    outlet_id: str = Field(min_length=1, max_length=36)
    lines: list[QtyLine] = Field(min_length=1, max_length=1000)
    reference: str | None = Field(default=None, max_length=64, description="delivery note or purchase order")


class LevelUpdate(Strict):
    outlet_id: str = Field(min_length=1, max_length=36)
    product_id: str = Field(min_length=1, max_length=36)
    on_hand: int | None = Field(default=None, ge=0, le=10_000_000, description="counted quantity")
    reorder_point: int | None = Field(default=None, ge=0, le=10_000_000)
    reorder_qty: int | None = Field(default=None, ge=0, le=10_000_000)
    reason: str = Field(default="correction", pattern="^(correction|count|damage|theft|expiry)$")
    note: str | None = Field(default=None, max_length=200)


class LevelOut(BaseModel):
    outlet_id: str
    product_id: str
    sku: str | None = None
    name: str | None = None
    on_hand: int
    reserved: int
    available: int
    reorder_point: int
    reorder_qty: int = 0
    low: bool = False  # at or below the reorder point
    oversell: Literal["block", "allow"] = "block"


class LevelPage(BaseModel):
    items: list[LevelOut]
    total: int


class LowStockLine(LevelOut):
    suggested_order_qty: int


class SaleLowStockLine(BaseModel):
    product_id: str
    sku: str | None = None
    name: str | None = None
    left: int = Field(description="available after this sale: on hand less every sale still held (this one too until deducted)")
    reorder_point: int
    reorder_qty: int = 0
    suggested_order_qty: int


class SaleLowStock(BaseModel):
    """The products a sale took to or under their reorder point at its outlet: the till's
    note after a sale (issue 17)."""

    sale_id: str
    outlet_id: str
    deducted: bool = Field(description="the sale's stock was already deducted (StockDeducted) when this was read")
    lines: list[SaleLowStockLine]


class LowStockOutlet(BaseModel):
    outlet_id: str
    low: int = Field(description="lines at or below their reorder point (a reorder point set)")
    out: int = Field(description="of those, lines with nothing left (on hand 0 or less)")


class LowStockSummary(BaseModel):
    """What to reorder across the caller's outlets: the dashboard's tile and the office
    menu's badge."""

    low: int
    out: int
    outlets: list[LowStockOutlet]


class LedgerEntry(BaseModel):
    id: int
    outlet_id: str
    product_id: str
    delta: int
    kind: str
    reason: str
    reference: str | None
    actor: str | None
    note: str | None = None
    on_hand_after: int
    oversold: bool
    created_at: str


class AdjustmentLine(Strict):
    product_id: str = Field(min_length=1, max_length=36)
    delta: int = Field(ge=-100_000, le=100_000, description="negative: stock removed")

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentLine:
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class AdjustmentIn(Strict):
    outlet_id: str = Field(min_length=1, max_length=36)
    reason: str = Field(pattern="^(damage|theft|expiry|correction)$")
    note: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=64)
    lines: list[AdjustmentLine] = Field(min_length=1, max_length=1000)


class PolicyIn(Strict):
    oversell: str = Field(pattern="^(block|allow)$", description="block: a short checkout gets 409; allow: stock may go negative")


class ProductStockOut(BaseModel):
    product_id: str
    sku: str | None
    name: str | None
    active: bool
    oversell: Literal["block", "allow"]


class CountIn(Strict):
    outlet_id: str = Field(min_length=1, max_length=36)
    note: str | None = Field(default=None, max_length=200)


class CountLineIn(Strict):
    product_id: str = Field(min_length=1, max_length=36)
    counted: int = Field(ge=0, le=10_000_000)


class CountLinesIn(Strict):
    lines: list[CountLineIn] = Field(min_length=1, max_length=5000)


class CountLineOut(BaseModel):
    product_id: str
    name: str | None
    expected: int  # on hand when the line was counted
    counted: int
    difference: int  # counted - expected: what posting moves
    on_hand_now: int
    entered_by: str
    entered_at: str


class CountOut(BaseModel):
    id: str
    outlet_id: str
    status: Literal["open", "posted", "cancelled"]
    note: str | None
    created_by: str
    created_at: str
    closed_by: str | None
    closed_at: str | None
    lines: list[CountLineOut] = []


class TransferIn(Strict):
    from_outlet_id: str = Field(min_length=1, max_length=36)
    to_outlet_id: str = Field(min_length=1, max_length=36)
    note: str | None = Field(default=None, max_length=200)
    lines: list[QtyLine] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _two_outlets(self) -> TransferIn:
        if self.from_outlet_id == self.to_outlet_id:
            raise ValueError("a transfer needs two different outlets")
        return self


class ReceivedLine(Strict):
    product_id: str = Field(min_length=1, max_length=36)
    received: int = Field(ge=0, le=100_000, description="arrived in good condition")
    damaged: int = Field(default=0, ge=0, le=100_000)


class TransferReceiptIn(Strict):
    lines: list[ReceivedLine] = Field(
        default=[], max_length=1000, description="lines left out arrived in full; list a line to record less, or damage"
    )


class TransferLineOut(BaseModel):
    product_id: str
    name: str | None
    qty: int
    received: int | None
    damaged: int | None
    missing: int | None  # sent - received - damaged, once received


class TransferOut(BaseModel):
    id: str
    from_outlet_id: str
    to_outlet_id: str
    status: Literal["created", "sent", "received", "cancelled"]
    note: str | None
    created_by: str
    created_at: str
    sent_at: str | None
    received_at: str | None
    lines: list[TransferLineOut]


class AuditOut(BaseModel):
    outlet_id: str
    products_checked: int
    # Products whose level differs from the sum of their ledger rows (must stay empty).
    mismatches: list[dict[str, int | str]]
    negative: list[dict[str, int | str]]


class StockExceptionOut(BaseModel):
    """A line of a completed sale inventory could not deduct: it names a product
    inventory does not know. `open` until the product's ProductCreated arrives, then
    `applied` (deducted, with a ledger row whose reference is the sale)."""

    sale_id: str
    outlet_id: str
    product_id: str
    qty: int
    reason: str
    status: str  # open | applied
    created_at: str
    resolved_at: str | None
