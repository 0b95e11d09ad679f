from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlalchemy import Select, func, select

from pos_platform.app import ServiceContext
from pos_platform.auth import Manager, Principal
from pos_platform.db import utcnow
from pos_reports.schemas import DailyReport, DailyRow, ItemReport, ItemRow, SalesFigures, TenderReport, TenderRow
from pos_reports.tables import daily_sales, item_sales, products, tender_sales

router = APIRouter(prefix="/api/reports", tags=["reports"])

DEFAULT_DAYS = 30
MAX_DAYS = 366
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}

OutletId = Annotated[str | None, Query(max_length=36, description="one outlet; default: every outlet you may see")]
DateFrom = Annotated[date | None, Query(description="first day (YYYY-MM-DD, UTC); default: 29 days before date_to")]
DateTo = Annotated[date | None, Query(description="last day, included (YYYY-MM-DD, UTC); default: today")]
Format = Annotated[Literal["json", "csv"], Query(alias="format", description="json, or csv for a download")]


def _ctx(request: Request) -> ServiceContext:
    return request.app.state.ctx


def _date_range(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Both ends included; days are UTC calendar days."""
    date_to = date_to or utcnow().date()
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"date_from ({date_from}) is after date_to ({date_to}): choose a date_from on or before date_to",
        )
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"the range {date_from} to {date_to} covers {days} days; a report covers at most {MAX_DAYS}: narrow it",
        )
    return date_from, date_to


def _scoped(
    query: Select[Any], table: Any, principal: Principal, outlet_id: str | None, span: tuple[date, date]
) -> Select[Any]:
    """Only the outlets the caller may see (another outlet is a 404), only the days asked for."""
    query = query.where(table.c.day >= span[0], table.c.day <= span[1])
    visible = principal.visible_outlets(outlet_id)
    if visible is not None:
        query = query.where(table.c.outlet_id.in_(visible))
    return query


def _cell(value: object) -> object:
    # A text cell starting like a formula is run by spreadsheets: make it plain text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(name: str, span: tuple[date, date], header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    filename = f"{name}_{span[0].isoformat()}_{span[1].isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/sales/daily", response_model=DailyReport, responses=CSV_RESPONSE)
def daily(
    principal: Manager,
    request: Request,
    outlet_id: OutletId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fmt: Format = "json",
) -> DailyReport | Response:
    """Sales per outlet and day, with totals over the range."""
    span = _date_range(date_from, date_to)
    query = _scoped(select(daily_sales), daily_sales, principal, outlet_id, span)
    with _ctx(request).db.transaction() as uow:
        found = uow.session.execute(query.order_by(daily_sales.c.day, daily_sales.c.outlet_id)).all()
    rows = [
        DailyRow(
            day=r.day,
            outlet_id=r.outlet_id,
            sales_count=r.sales_count,
            items_sold=r.items_sold,
            gross_minor=r.gross_minor,
            tax_minor=r.tax_minor,
            net_minor=r.net_minor,
        )
        for r in found
    ]
    totals = SalesFigures(**{f: sum(getattr(r, f) for r in rows) for f in SalesFigures.model_fields})
    if fmt == "csv":
        fields = ["day", "outlet_id", *SalesFigures.model_fields]
        return _csv("sales-daily", span, fields, ([getattr(r, f) for f in fields] for r in rows))
    return DailyReport(date_from=span[0], date_to=span[1], rows=rows, totals=totals)


@router.get("/sales/items", response_model=ItemReport, responses=CSV_RESPONSE)
def items(
    principal: Manager,
    request: Request,
    outlet_id: OutletId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    fmt: Format = "json",
) -> ItemReport | Response:
    """Best sellers over the range, by gross sales (names as the catalog has them now)."""
    span = _date_range(date_from, date_to)
    summed = (
        _scoped(
            select(
                item_sales.c.product_id,
                func.max(item_sales.c.sku).label("sku"),
                func.max(item_sales.c.name).label("name"),
                func.sum(item_sales.c.qty).label("qty"),
                func.sum(item_sales.c.gross_minor).label("gross_minor"),
            ),
            item_sales,
            principal,
            outlet_id,
            span,
        )
        .group_by(item_sales.c.product_id)
        .subquery()
    )
    query = (
        select(
            summed.c.product_id,
            func.coalesce(products.c.sku, summed.c.sku).label("sku"),
            func.coalesce(products.c.name, summed.c.name).label("name"),
            summed.c.qty,
            summed.c.gross_minor,
        )
        .select_from(summed.outerjoin(products, products.c.product_id == summed.c.product_id))
        .order_by(summed.c.gross_minor.desc(), summed.c.product_id)
        .limit(limit)
    )
    with _ctx(request).db.transaction() as uow:
        found = uow.session.execute(query).all()
    # int(): MySQL's SUM() returns DECIMAL.
    rows = [
        ItemRow(product_id=r.product_id, sku=r.sku, name=r.name, qty=int(r.qty), gross_minor=int(r.gross_minor))
        for r in found
    ]
    if fmt == "csv":
        fields = list(ItemRow.model_fields)
        return _csv("sales-items", span, fields, ([getattr(r, f) for f in fields] for r in rows))
    return ItemReport(date_from=span[0], date_to=span[1], rows=rows)


@router.get("/sales/tenders", response_model=TenderReport, responses=CSV_RESPONSE)
def tenders(
    principal: Manager,
    request: Request,
    outlet_id: OutletId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fmt: Format = "json",
) -> TenderReport | Response:
    """Money taken per tender kind (cash, card) over the range."""
    span = _date_range(date_from, date_to)
    amount = func.sum(tender_sales.c.amount_minor)
    query = _scoped(
        select(
            tender_sales.c.kind, amount.label("amount_minor"), func.sum(tender_sales.c["count"]).label("tender_count")
        ),
        tender_sales,
        principal,
        outlet_id,
        span,
    ).group_by(tender_sales.c.kind)
    with _ctx(request).db.transaction() as uow:
        found = uow.session.execute(query.order_by(amount.desc(), tender_sales.c.kind)).all()
    rows = [TenderRow(kind=r.kind, amount_minor=int(r.amount_minor), count=int(r.tender_count)) for r in found]
    if fmt == "csv":
        fields = list(TenderRow.model_fields)
        return _csv("sales-tenders", span, fields, ([getattr(r, f) for f in fields] for r in rows))
    return TenderReport(date_from=span[0], date_to=span[1], rows=rows)
