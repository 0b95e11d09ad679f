"""Who sold and on which till: sales per cashier and/or register, and the register
shifts (Z reports) closed in a range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pos_platform.auth import Manager
from pos_reports.export import CSV_RESPONSE, Csv, answer, columns
from pos_reports.figures import SALES_SUMS, SHIFT_SUMS, sales_figures, sales_totals
from pos_reports.queries import names, register_names_in, session, sums, where
from pos_reports.schemas import (
    CashierReport,
    CashierRow,
    ShiftCashReport,
    ShiftCashRow,
    ShiftCashTotals,
    ShiftReport,
    ShiftRow,
    ShiftTotals,
)
from pos_reports.scope import DateFrom, DateTo, Format, Limit, OutletIds, days_and_outlets
from pos_reports.tables import cashier_sales, shift_cash, shifts, users

router = APIRouter()


@dataclass(frozen=True)
class Names:
    """The names of the cashiers and registers some report rows name, from the replicas
    (None for one not announced, or not named)."""

    people: dict[str, Any]
    tills: dict[str, str]

    @classmethod
    def of(cls, s: Session, found: list[Any]) -> Names:
        return cls(
            names(s, users, "user_id", [r.get("cashier_id") or "" for r in found]),
            register_names_in(s, [r.get("register_id") for r in found]),
        )

    def cashier(self, user_id: str | None) -> str | None:
        person = self.people.get(user_id) if user_id else None
        return person.name if person is not None else None

    def register(self, register_id: str | None) -> str | None:
        return self.tills.get(register_id or "")


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
        known = Names.of(s, found)
    rows = []
    for r in found:
        rows.append(
            CashierRow(
                cashier_id=r.get("cashier_id"),
                cashier_name=known.cashier(r.get("cashier_id")),
                outlet_id=r.get("outlet_id"),
                register_id=r.get("register_id"),
                register_name=known.register(r.get("register_id")),
                currency=r["currency"],
                void_count=int(r["void_count"] or 0),
                **sales_figures(r),
            )
        )
    totals = sales_totals(found)
    first = {
        "cashier": ["cashier_id", "cashier_name", "currency"],
        "register": ["outlet_id", "register_id", "currency"],
        "cashier_register": ["cashier_id", "cashier_name", "outlet_id", "register_id", "currency"],
    }[by]
    # The CSV's register column is the register's name (or short code): no second column.
    dims = {"cashier_id", "cashier_name", "outlet_id", "register_id", "register_name"}
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
        known = Names.of(s, found)
    rows = []
    for r in found:
        rows.append(
            ShiftRow(
                shift_id=r.get("shift_id"),
                outlet_id=r.get("outlet_id"),
                register_id=r.get("register_id"),
                register_name=known.register(r.get("register_id")),
                cashier_id=r.get("cashier_id"),
                cashier_name=known.cashier(r.get("cashier_id")),
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
    dims = {
        "shift_id",
        "outlet_id",
        "register_id",
        "register_name",
        "cashier_id",
        "cashier_name",
        "day",
        "opened_at",
        "closed_at",
    }
    skip = tuple(dims - set(first)) + (("shifts",) if by == "shift" else ())
    return answer(
        request,
        fmt,
        Csv("shifts", span, columns(ShiftRow, first, skip)),
        rows,
        lambda: ShiftReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals),
    )


@router.get("/shifts/cash", response_model=ShiftCashReport, responses=CSV_RESPONSE)
def shift_cash_report(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 500,
    fmt: Format = "json",
) -> ShiftCashReport | Response:
    """The drawer per currency of the shifts closed in the range (ADR 0063, 0072): a row
    per shift and currency, the outlet's own first: float, cash taken, refunds, cash in
    and out, change given for foreign cash, expected, counted and over/short, each in
    minor units of its currency. Shifts closed before the events carried it have no rows."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t, c = shifts, shift_cash
    query = (
        where(select(t.c.outlet_id, t.c.register_id, t.c.cashier_id, t.c.day, t.c.closed_at, c), t, scope, span)
        .join_from(t, c, c.c.shift_id == t.c.shift_id)
        .order_by(t.c.day.desc(), t.c.closed_at.desc(), t.c.shift_id, c.c.own.desc(), c.c.currency)
        .limit(limit)
    )
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
        known = Names.of(s, found)
    rows = [
        ShiftCashRow(
            **{k: r[k] for k in ShiftCashRow.model_fields if k in r},
            register_name=known.register(r["register_id"]),
            cashier_name=known.cashier(r["cashier_id"]),
        )
        for r in found
    ]
    totals: dict[str, ShiftCashTotals] = {}
    for row in rows:
        total = totals.setdefault(row.currency, ShiftCashTotals(currency=row.currency))
        total.shifts += 1
        total.expected_minor += row.expected_minor
        if row.counted_minor is None:
            total.not_counted += 1
        else:
            total.counted_minor += row.counted_minor
            total.over_short_minor += row.over_short_minor or 0
    first = ["shift_id", "outlet_id", "register_id", "cashier_name", "day", "closed_at", "currency", "own"]
    return answer(
        request,
        fmt,
        Csv("shifts-cash", span, columns(ShiftCashRow, first, ("register_name", "cashier_id"))),
        rows,
        lambda: ShiftCashReport(
            date_from=span[0], date_to=span[1], rows=rows, totals_by_currency=[totals[k] for k in sorted(totals)]
        ),
    )
