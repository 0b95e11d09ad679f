from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator

from pos_catalog.domain import barcode_problem
from pos_platform.schemas import RequestModel

# What an answer says (the web app's generated types see the closed sets); requests
# keep their patterns, whose messages are the ones a person acts on. A tax class is an
# open set: the outlets' rate tables name them (sales' settings; more are added on the
# office's Tax page, ADR 0072): lower case, digits, - and _, up to 32 characters.
TAX_CLASSES = ("standard", "reduced", "zero")  # every outlet's table has these
TAX_CLASS_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
TaxClass = str
Unit = Literal["each", "weight"]
UNITS: tuple[str, ...] = get_args(Unit)


# Request bodies: pos_platform.schemas.RequestModel (extra fields, strict numbers, no
# control characters).
Strict = RequestModel


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
    barcodes: list[str] = Field(default=[], max_length=20, description="EAN-13, UPC-A or EAN-8, check digit verified")
    category_id: str | None = Field(default=None, min_length=1, max_length=36)
    price_minor: int = Field(ge=0, le=10**12, description="unit price in minor units (cents); per kg when unit is weight")
    cost_minor: int = Field(default=0, ge=0, le=10**12)
    tax_class: str = Field(default="standard", pattern=TAX_CLASS_PATTERN)
    unit: str = Field(default="each", pattern="^(each|weight)$", description="each, or weight (price per kg)")

    _barcodes = field_validator("barcodes")(_check_barcodes)


class ProductUpdate(Strict):
    """Fields that may change; omitted fields keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)
    barcodes: list[str] | None = Field(default=None, max_length=20)
    category_id: str | None = Field(default=None, min_length=1, max_length=36)
    price_minor: int | None = Field(default=None, ge=0, le=10**12)
    cost_minor: int | None = Field(default=None, ge=0, le=10**12)
    tax_class: str | None = Field(default=None, pattern=TAX_CLASS_PATTERN)
    unit: str | None = Field(default=None, pattern="^(each|weight)$")
    active: bool | None = Field(default=None, description="true restores an archived product")

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
    category_name: str | None = None
    price_minor: int
    cost_minor: int
    currency: str
    tax_class: TaxClass
    unit: Unit = "each"
    active: bool
    # Only when the request named an outlet that has its own price for this product.
    outlet_price_minor: int | None = None
    outlet_price_currency: str | None = Field(
        default=None, description="outlet_price_minor's currency: the outlet's (not always the product's)"
    )
    image_url: str | None = Field(
        default=None, description="the product image, at most 320 px a side (WebP, cached for good); null: no image"
    )
    thumbnail_url: str | None = Field(
        default=None, description="the same image at most 96 px a side (the till's tiles); null: no image"
    )


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    # False when `total` stopped counting at the cap (a broad search on a big catalogue).
    total_exact: bool = True
    limit: int
    offset: int


class SearchHit(BaseModel):
    """What a till needs to show and sell a product."""

    id: str
    sku: str
    name: str
    barcodes: list[str]
    price_minor: int
    outlet_price_minor: int | None = None
    outlet_price_currency: str | None = Field(default=None, description="outlet_price_minor's currency: the outlet's")
    currency: str
    tax_class: TaxClass
    unit: Unit
    category_id: str | None
    active: bool
    image_url: str | None = None
    thumbnail_url: str | None = None
    match: str  # barcode | sku | prefix


class SearchPage(BaseModel):
    items: list[SearchHit]
    limit: int
    offset: int
    # The next page's offset, or null when this page is the last.
    next_offset: int | None


class CategoryIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, min_length=1, max_length=36, description="leave it out for a top-level category")


class CategoryUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, description='move under another category; "" makes it a root')


class CategoryOut(BaseModel):
    id: str
    name: str
    parent_id: str | None
    path: str = ""  # "Drinks / Coffee"


class OutletPriceIn(Strict):
    price_minor: int = Field(ge=0, le=10**12, description="in the outlet's currency's minor units")
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="the price's currency: the outlet's (identity's, ISO 4217); another is refused. Omitted: the outlet's",
    )


class OutletPriceOut(BaseModel):
    product_id: str
    outlet_id: str
    price_minor: int
    currency: str


class ImportError_(BaseModel):
    row: int  # line number in the file: the header is row 1
    column: str
    message: str


class ImportJobOut(BaseModel):
    id: str
    status: Literal["validating", "importing", "done", "failed"]
    dry_run: bool
    filename: str | None
    total_rows: int
    validated_rows: int
    imported_rows: int
    progress: float  # 0.0 .. 1.0 over both phases
    created: int
    updated: int
    unchanged: int
    error_count: int
    errors: list[ImportError_]
    message: str | None
    created_at: str
    finished_at: str | None


class ReplicaProduct(BaseModel):
    """What a till needs to sell a product offline, at one outlet."""

    id: str
    sku: str
    name: str
    barcodes: list[str]
    category_id: str | None
    price_minor: int = Field(description="the price at this outlet: its own price if it has one, else the product's")
    outlet_price: bool = Field(description="true when price_minor is this outlet's own price")
    currency: str = Field(description="price_minor's currency: the outlet's for its own price, else the product's")
    tax_class: TaxClass
    unit: Unit
    active: bool = Field(description="false: archived (not sold; keep it to show old receipts)")
    thumbnail_url: str | None = Field(
        default=None, description="the product's 96 px image (cache it; a new image has a new URL); null: no image"
    )


class ReplicaCategory(BaseModel):
    id: str
    name: str
    parent_id: str | None


class ChangesPage(BaseModel):
    """A page of the replica feed: each entity once, in its current state."""

    outlet_id: str
    products: list[ReplicaProduct] = Field(
        description="created or changed products (upsert by id; barcodes replace the product's)"
    )
    categories: list[ReplicaCategory] = Field(description="created, renamed or moved categories (upsert by id)")
    deleted_categories: list[str] = Field(description="ids of deleted categories")
    next_cursor: str = Field(description="pass it back as `cursor` for the next page or, once `more` is false, for the next sync")
    more: bool = Field(description="true: fetch the next page now; false: the replica is up to date as of this page")
