from __future__ import annotations

from datetime import date

from pydantic import BaseModel

# Money is integer minor units (cents). Sums cover every outlet the caller asked for.


class SalesFigures(BaseModel):
    sales_count: int = 0
    items_sold: int = 0
    gross_minor: int = 0  # total including tax
    tax_minor: int = 0
    net_minor: int = 0  # gross - tax


class DailyRow(BaseModel):
    day: date
    outlet_id: str
    sales_count: int
    items_sold: int
    gross_minor: int
    tax_minor: int
    net_minor: int


class DailyReport(BaseModel):
    date_from: date
    date_to: date
    rows: list[DailyRow]
    totals: SalesFigures


class ItemRow(BaseModel):
    product_id: str
    sku: str
    name: str
    qty: int
    gross_minor: int


class ItemReport(BaseModel):
    date_from: date
    date_to: date
    rows: list[ItemRow]


class TenderRow(BaseModel):
    kind: str
    amount_minor: int
    count: int


class TenderReport(BaseModel):
    date_from: date
    date_to: date
    rows: list[TenderRow]
