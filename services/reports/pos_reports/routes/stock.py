"""Stock: its value at cost per outlet, products at or below their reorder point, and
days of cover with a reorder suggestion."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from pos_platform.auth import Manager
from pos_platform.db import utcnow
from pos_reports.export import CSV_RESPONSE, Csv, answer, columns
from pos_reports.figures import VALUE_COUNTS, by_currency
from pos_reports.queries import names, session, stock_found
from pos_reports.schemas import StockReport, StockRow, ValuationReport, ValuationRow, ValuationTotals
from pos_reports.scope import DateTo, Format, Limit, OutletIds, visible_outlets
from pos_reports.tables import outlets, products, stock_value
from pos_reports.velocity import snapshot

router = APIRouter()

VelocityDays = Annotated[int, Query(ge=1, le=365, description="days of sales the velocity is measured over")]
TargetDays = Annotated[int, Query(ge=1, le=365, description="days of stock a reorder should cover")]
STOCK_CSV_COLUMNS = [f for f in StockRow.model_fields if f != "outlet_id"]


@router.get("/stock/valuation", response_model=ValuationReport, responses=CSV_RESPONSE)
def valuation(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    fmt: Format = "json",
) -> ValuationReport | Response:
    """Stock on hand now, valued at the catalog's current cost price, per outlet
    (negative levels, i.e. oversold, count as zero)."""
    scope = visible_outlets(principal, outlet_ids)
    v = stock_value
    query = select(v)
    if scope is not None:
        query = query.where(v.c.outlet_id.in_(scope))
    with session(request) as s:
        found = [r._mapping for r in s.execute(query) if any(r._mapping[c] for c in VALUE_COUNTS)]
        known = names(s, outlets, "outlet_id", [r["outlet_id"] for r in found])
    rows = [
        ValuationRow(
            outlet_id=r["outlet_id"],
            outlet_name=known[r["outlet_id"]].name if r["outlet_id"] in known else r["outlet_id"],
            currency=r["currency"],
            **{c: int(r[c]) for c in VALUE_COUNTS},
        )
        for r in found
    ]
    rows.sort(key=lambda row: (row.currency, -row.value_minor, row.outlet_id))
    totals = [ValuationTotals(currency=c, **t) for c, t in by_currency(found, ("units", "value_minor")).items()]
    return answer(
        request,
        fmt,
        Csv("stock-valuation", None, columns(ValuationRow, ["outlet_name", "currency"], ("outlet_id",))),
        rows,
        lambda: ValuationReport(rows=rows, totals_by_currency=totals),
    )


def _stock_rows(
    request: Request,
    scope: list[str] | None,
    window: tuple[date, date],
    target_days: int,
    *,
    low_only: bool,
    reorder_only: bool,
    limit: int,
) -> tuple[list[StockRow], Any]:
    days = (window[1] - window[0]).days + 1
    with session(request) as s:
        ready = snapshot(s)
        # The refreshed sales velocity when it covers this window; else summed now.
        fresh = ready is not None and (ready.window_from, ready.window_to) == window
        found, sold = stock_found(
            s, scope, window, target_days, low_only=low_only, fresh=fresh, reorder_only=reorder_only, limit=limit
        )
        named = names(s, products, "product_id", [r["product_id"] for r in found])
        places = names(s, outlets, "outlet_id", [r["outlet_id"] for r in found])
    rows = []
    for r in found:
        key = (r["outlet_id"], r["product_id"])
        sold_qty = max(0, sold.get(key, 0))
        velocity = sold_qty / days
        on_hand = None if r["on_hand"] is None else int(r["on_hand"])
        stocked = max(on_hand or 0, 0)
        product, outlet = named.get(key[1]), places.get(key[0])
        rows.append(
            StockRow(
                outlet_id=key[0],
                outlet_name=outlet.name if outlet is not None else key[0],
                product_id=key[1],
                sku=product.sku if product is not None else key[1],
                name=product.name if product is not None else key[1],
                on_hand=on_hand,
                reorder_point=None if r["reorder_point"] is None else int(r["reorder_point"]),
                sold=sold_qty,
                daily_velocity=round(velocity, 3),
                days_of_cover=round(stocked / velocity, 1) if velocity else None,
                suggested_order_qty=max(0, math.ceil(sold_qty * target_days / days) - stocked),
            )
        )
    return rows, (ready.computed_at if fresh and ready is not None else None)


def _velocity_window(date_to: date | None, days: int) -> tuple[date, date]:
    end = date_to or utcnow().date()
    return end - timedelta(days=days - 1), end


def _stock_answer(
    request: Request, fmt: str, name: str, window: tuple[date, date], target_days: int, found: tuple[list[StockRow], Any]
) -> Response:
    rows, computed = found
    return answer(
        request,
        fmt,
        Csv(name, window, STOCK_CSV_COLUMNS),
        rows,
        lambda: StockReport(
            velocity_from=window[0], velocity_to=window[1], velocity_computed_at=computed, target_days=target_days, rows=rows
        ),
    )


@router.get("/stock/low", response_model=StockReport, responses=CSV_RESPONSE)
def low_stock(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_to: DateTo = None,
    velocity_days: VelocityDays = 28,
    target_days: TargetDays = 14,
    limit: Limit = 200,
    fmt: Format = "json",
) -> StockReport | Response:
    """Products at or below their reorder point (as inventory last reported it with
    LowStockDetected), lowest first, with days of cover and a reorder suggestion."""
    scope = visible_outlets(principal, outlet_ids)
    window = _velocity_window(date_to, velocity_days)
    found = _stock_rows(request, scope, window, target_days, low_only=True, reorder_only=False, limit=limit)
    return _stock_answer(request, fmt, "stock-low", window, target_days, found)


@router.get("/stock/cover", response_model=StockReport, responses=CSV_RESPONSE)
def days_of_cover(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_to: DateTo = None,
    velocity_days: VelocityDays = 28,
    target_days: TargetDays = 14,
    reorder_only: Annotated[bool, Query(description="only products whose stock covers less than target_days")] = False,
    limit: Limit = 200,
    fmt: Format = "json",
) -> StockReport | Response:
    """Days of cover = on hand / daily sales velocity over the last velocity_days;
    suggested_order_qty brings the stock to target_days of sales. Least cover first.
    The velocity is the one refreshed every few minutes (velocity_computed_at) when
    it covers the window asked for."""
    scope = visible_outlets(principal, outlet_ids)
    window = _velocity_window(date_to, velocity_days)
    found = _stock_rows(request, scope, window, target_days, low_only=False, reorder_only=reorder_only, limit=limit)
    return _stock_answer(request, fmt, "stock-cover", window, target_days, found)
