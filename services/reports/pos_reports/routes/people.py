"""Who sold and on which till: sales per cashier and/or register, and the register
shifts (Z reports) closed in a range."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from pos_platform.auth import Manager
from pos_reports.export import CSV_RESPONSE, Csv, answer, columns
from pos_reports.figures import SALES_SUMS, SHIFT_SUMS, by_currency, sales_figures
from pos_reports.queries import names, session, sums, where
from pos_reports.schemas import CashierReport, CashierRow, SalesFigures, ShiftReport, ShiftRow, ShiftTotals
from pos_reports.scope import DateFrom, DateTo, Format, Limit, OutletIds, days_and_outlets
from pos_reports.tables import cashier_sales, shifts, users

router = APIRouter()


@router.get("/sales/cashiers", response_model=CashierReport, responses=CSV_RESPONSE)
def cashier_report(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    by: Annotated[
        Literal["cashier", "register", "cashier_register"],
        Query(description="per cashier (all outlets), per register (of an outlet), or both"),
    ] = "cashier",
    fmt: Format = "json",
) -> CashierReport | Response:
    """Sales, refunds and voids per cashier and/or register. Register: as the sale
    event tells it ('' when it does not)."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = cashier_sales
    keys = {
        "cashier": [t.c.cashier_id],
        "register": [t.c.outlet_id, t.c.register_id],
        "cashier_register": [t.c.cashier_id, t.c.outlet_id, t.c.register_id],
    }[by] + [t.c.currency]
    query = (
        where(select(*keys, *sums(t, (*SALES_SUMS, "void_count"))), t, scope, span)
        .group_by(*keys)
        .order_by(func.sum(t.c.gross_minor).desc(), *keys)
    )
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
        people = names(s, users, "user_id", [r.get("cashier_id") or "" for r in found])
    rows = []
    for r in found:
        cashier = r.get("cashier_id")
        person = people.get(cashier) if cashier else None
        rows.append(
            CashierRow(
                cashier_id=cashier,
                cashier_name=person.name if person is not None else None,
                outlet_id=r.get("outlet_id"),
                register_id=r.get("register_id"),
                currency=r["currency"],
                void_count=int(r["void_count"] or 0),
                **sales_figures(r),
            )
        )
    totals = [SalesFigures(currency=c, **sales_figures(f)) for c, f in by_currency(found, SALES_SUMS).items()]
    first = {
        "cashier": ["cashier_id", "cashier_name", "currency"],
        "register": ["outlet_id", "register_id", "currency"],
        "cashier_register": ["cashier_id", "cashier_name", "outlet_id", "register_id", "currency"],
    }[by]
    dims = {"cashier_id", "cashier_name", "outlet_id", "register_id"}
    # One file name per view: "by register" saved beside "by cashier" must not clash.
    name = {"cashier": "sales-cashiers", "register": "sales-registers", "cashier_register": "sales-cashier-registers"}[by]
    return answer(
        request,
        fmt,
        Csv(name, span, columns(CashierRow, first, tuple(dims - set(first)))),
        rows,
        lambda: CashierReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals),
    )


@router.get("/shifts", response_model=ShiftReport, responses=CSV_RESPONSE)
def shift_report(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    by: Annotated[
        Literal["shift", "cashier", "day"], Query(description="each shift (Z report), or summed per cashier or day")
    ] = "shift",
    limit: Limit = 500,
    fmt: Format = "json",
) -> ShiftReport | Response:
    """Register shifts closed in the range (by the outlet's local day of the close):
    float, expected and counted cash, over/short, sales and refunds."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = shifts
    if by == "shift":
        query = where(select(t), t, scope, span).order_by(t.c.day.desc(), t.c.closed_at.desc(), t.c.shift_id).limit(limit)
    else:
        keys = [t.c.cashier_id, t.c.currency] if by == "cashier" else [t.c.day, t.c.outlet_id, t.c.currency]
        query = (
            where(select(*keys, func.count().label("shifts"), *sums(t, SHIFT_SUMS)), t, scope, span)
            .group_by(*keys)
            .order_by(*keys)
            .limit(limit)
        )
    total_query = where(select(t.c.currency, func.count().label("shifts"), *sums(t, SHIFT_SUMS)), t, scope, span).group_by(
        t.c.currency
    )
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
        totals_found = [r._mapping for r in s.execute(total_query)]
        people = names(s, users, "user_id", [r.get("cashier_id") or "" for r in found])
    rows = []
    for r in found:
        cashier = r.get("cashier_id")
        rows.append(
            ShiftRow(
                shift_id=r.get("shift_id"),
                outlet_id=r.get("outlet_id"),
                register_id=r.get("register_id"),
                cashier_id=cashier,
                cashier_name=people[cashier].name if cashier in people else None,
                currency=r["currency"],
                day=r.get("day"),
                opened_at=r.get("opened_at"),
                closed_at=r.get("closed_at"),
                shifts=int(r.get("shifts") or 1),
                **{c: int(r[c] or 0) for c in SHIFT_SUMS},
            )
        )
    totals = [
        ShiftTotals(
            currency=r["currency"],
            shifts=int(r["shifts"]),
            **{c: int(r[c] or 0) for c in ShiftTotals.model_fields if c in SHIFT_SUMS},
        )
        for r in sorted(totals_found, key=lambda r: r["currency"])
    ]
    first = {
        "shift": [
            "shift_id",
            "outlet_id",
            "register_id",
            "cashier_id",
            "cashier_name",
            "day",
            "opened_at",
            "closed_at",
            "currency",
        ],
        "cashier": ["cashier_id", "cashier_name", "currency", "shifts"],
        "day": ["day", "outlet_id", "currency", "shifts"],
    }[by]
    dims = {"shift_id", "outlet_id", "register_id", "cashier_id", "cashier_name", "day", "opened_at", "closed_at"}
    skip = tuple(dims - set(first)) + (("shifts",) if by == "shift" else ())
    return answer(
        request,
        fmt,
        Csv("shifts", span, columns(ShiftRow, first, skip)),
        rows,
        lambda: ShiftReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals),
    )
