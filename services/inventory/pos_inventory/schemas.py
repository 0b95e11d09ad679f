from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QtyLine(Strict):
    product_id: str = Field(min_length=1, max_length=36)
    qty: int = Field(gt=0, le=100_000)


class ReservationIn(Strict):
    sale_id: str = Field(min_length=1, max_length=36)
    outlet_id: str = Field(min_length=1, max_length=36)
    lines: list[QtyLine] = Field(min_length=1, max_length=500)


class ReservationOut(BaseModel):
    sale_id: str
    outlet_id: str
    status: str


class ReceiptIn(Strict):
    outlet_id: str = Field(min_length=1, max_length=36)
    lines: list[QtyLine] = Field(min_length=1, max_length=1000)
    reference: str | None = Field(default=None, max_length=64, description="delivery note or purchase order")


class LevelUpdate(Strict):
    outlet_id: str = Field(min_length=1, max_length=36)
    product_id: str = Field(min_length=1, max_length=36)
    on_hand: int | None = Field(default=None, ge=0, le=10_000_000, description="counted quantity")
    reorder_point: int | None = Field(default=None, ge=0, le=10_000_000)
    reason: str = Field(default="correction", pattern="^(correction|count|damage|theft|expiry)$")


class LevelOut(BaseModel):
    outlet_id: str
    product_id: str
    sku: str | None = None
    name: str | None = None
    on_hand: int
    reserved: int
    available: int
    reorder_point: int


class LevelPage(BaseModel):
    items: list[LevelOut]
    total: int


class LedgerEntry(BaseModel):
    id: int
    outlet_id: str
    product_id: str
    delta: int
    kind: str
    reason: str
    reference: str | None
    actor: str | None
    on_hand_after: int
    oversold: bool
    created_at: str
