from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pos_catalog.domain import barcode_problem

TAX_CLASSES = ("standard", "reduced", "zero")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_barcodes(codes: list[str]) -> list[str]:
    for code in codes:
        problem = barcode_problem(code)
        if problem:
            raise ValueError(problem)
    if len(set(codes)) != len(codes):
        raise ValueError("the same barcode is listed twice")
    return codes


class ProductIn(Strict):
    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    barcodes: list[str] = Field(default=[], max_length=20)
    category_id: str | None = None
    price_minor: int = Field(ge=0, le=10**12, description="unit price in minor units (cents)")
    cost_minor: int = Field(default=0, ge=0, le=10**12)
    tax_class: str = Field(default="standard", pattern="^(standard|reduced|zero)$")

    _barcodes = field_validator("barcodes")(_check_barcodes)


class ProductUpdate(Strict):
    """Fields that may change; omitted fields keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    barcodes: list[str] | None = Field(default=None, max_length=20)
    category_id: str | None = None
    price_minor: int | None = Field(default=None, ge=0, le=10**12)
    cost_minor: int | None = Field(default=None, ge=0, le=10**12)
    tax_class: str | None = Field(default=None, pattern="^(standard|reduced|zero)$")

    @field_validator("barcodes")
    @classmethod
    def _barcodes(cls, codes: list[str] | None) -> list[str] | None:
        return None if codes is None else _check_barcodes(codes)


class ProductOut(BaseModel):
    id: str
    sku: str
    name: str
    description: str
    barcodes: list[str]
    category_id: str | None
    price_minor: int
    cost_minor: int
    currency: str
    tax_class: str
    active: bool


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class CategoryIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = None


class CategoryOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
