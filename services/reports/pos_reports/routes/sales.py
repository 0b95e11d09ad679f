"""Sales over time and by place: per day (and outlet), per hour, per tender kind, and
each outlet against the period before."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from pos_platform.auth import Manager
from pos_platform.currencies import currency as currency_info
from pos_reports.chain import chain_total_for
from pos_reports.export import CSV_RESPONSE, Csv, answer, columns
from pos_reports.figures import HEAT_SUMS, SALES_SUMS, TENDER_SUMS, by_currency, heat_row, ratio_bp, sales_figures, sales_totals
from pos_reports.queries import names, session, sums, where
from pos_reports.schemas import (
    DailyReport,
    DailyRow,
    HeatRow,
    HourlyReport,
    HourRow,
    OutletReport,
    OutletRow,
    SalesFigures,
    TenderCurrencyReport,
    TenderCurrencyRow,
    TenderCurrencyTotals,
    TenderReport,
    TenderRow,
    TenderTotals,
)
from pos_reports.scope import DateFrom, DateTo, Format, OutletIds, days_and_outlets
from pos_reports.tables import daily_sales, hourly_sales, outlets, tender_currency_sales, tender_sales

router = APIRouter()


@router.get("/sales/daily", response_model=DailyReport, responses=CSV_RESPONSE)
def daily(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    by: Annotated[
        Literal["day_outlet", "day"], Query(description="a row per day and outlet, or per day (outlets summed)")
    ] = "day_outlet",
    fmt: Format = "json",
) -> DailyReport | Response:
    """Sales per day (and outlet): gross, discounts, tax, net, refunds, count, average
    basket, items, cost and margin; with totals per currency."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = daily_sales
    extra = ("split_count", "void_count")
    if by == "day_outlet":
        query = where(select(t), t, scope, span).order_by(t.c.day, t.c.outlet_id)
    else:
        query = (
            where(select(t.c.day, t.c.currency, *sums(t, SALES_SUMS + extra)), t, scope, span)
            .group_by(t.c.day, t.c.currency)
            .order_by(t.c.day, t.c.currency)
        )
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
    rows = [
        DailyRow(
            day=r["day"],
            outlet_id=r.get("outlet_id"),
            currency=r["currency"],
            split_count=int(r["split_count"]),
            void_count=int(r["void_count"]),
            **sales_figures(r),
        )
        for r in found
    ]
    totals = sales_totals(found)
    first = ["day", "outlet_id", "currency"] if by == "day_outlet" else ["day", "currency"]
    download = Csv("sales-daily", span, columns(DailyRow, first, () if by == "day_outlet" else ("outlet_id",)))
    return answer(
        request,
        fmt,
        download,
        rows,
        lambda: DailyReport(
            date_from=span[0],
            date_to=span[1],
            by=by,
            rows=rows,
            totals=totals[0] if len(totals) == 1 else (SalesFigures(currency="") if not totals else None),
            totals_by_currency=totals,
            chain_total=chain_total_for(request, totals),
        ),
    )


@router.get("/sales/hourly", response_model=HourlyReport, responses=CSV_RESPONSE)
def hourly(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    by: Annotated[
        Literal["hour", "day_hour"], Query(description="per hour of the day over the range, or per day and hour (a heat map)")
    ] = "hour",
    fmt: Format = "json",
) -> HourlyReport | Response:
    """Sales by the outlet's local hour of day: when to staff."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = hourly_sales
    rows: list[Any]
    if by == "hour":
        keys = [t.c.hour, t.c.currency]
        query = where(select(*keys, *sums(t, SALES_SUMS)), t, scope, span).group_by(*keys).order_by(*keys)
        with session(request) as s:
            found = [r._mapping for r in s.execute(query)]
        rows = [HourRow(hour=r["hour"], currency=r["currency"], **sales_figures(r)) for r in found]
        totals = sales_totals(found)
        download = Csv("sales-hourly", span, columns(HourRow, ["hour", "currency"], ("day",)))
    else:
        keys = [t.c.day, t.c.hour, t.c.currency]
        cells = where(select(*keys, *sums(t, HEAT_SUMS)), t, scope, span).group_by(*keys).order_by(*keys)
        # The day and the hour tables hold the same sales: the (smaller) day table totals.
        d = daily_sales
        whole = where(select(d.c.currency, *sums(d, SALES_SUMS)), d, scope, span).group_by(d.c.currency).order_by(d.c.currency)
        with session(request) as s:
            found = [r._mapping for r in s.execute(cells)]
            totals = [SalesFigures(currency=r.currency, **sales_figures(r._mapping)) for r in s.execute(whole)]
        rows = [heat_row(r) for r in found]
        download = Csv("sales-day-hour", span, list(HeatRow.model_fields))
    return answer(
        request,
        fmt,
        download,
        rows,
        lambda: HourlyReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals),
    )


@router.get("/sales/tenders", response_model=TenderReport, responses=CSV_RESPONSE)
def tenders(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fmt: Format = "json",
) -> TenderReport | Response:
    """Money taken per tender kind (cash, card; each part of a split payment counts in
    its kind), refunds given back per kind, and what payments captured (a cross-check)."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = tender_sales
    query = (
        where(select(t.c.kind, t.c.currency, *sums(t, TENDER_SUMS)), t, scope, span)
        .group_by(t.c.kind, t.c.currency)
        .order_by(t.c.currency, func.sum(t.c.amount_minor).desc(), t.c.kind)
    )
    split = where(select(func.sum(daily_sales.c.split_count)), daily_sales, scope, span)
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
        split_count = int(s.scalar(split) or 0)
    rows = []
    for r in found:
        figures = {c: int(r[c] or 0) for c in TENDER_SUMS}
        rows.append(
            TenderRow(
                kind=r["kind"], currency=r["currency"], net_minor=figures["amount_minor"] - figures["refund_minor"], **figures
            )
        )
    totals = [
        TenderTotals(currency=c, net_minor=s["amount_minor"] - s["refund_minor"], **s)
        for c, s in by_currency(found, ("amount_minor", "refund_minor", "captured_minor")).items()
    ]
    return answer(
        request,
        fmt,
        Csv("sales-tenders", span, columns(TenderRow, ["kind", "amount_minor", "count", "currency"])),
        rows,
        lambda: TenderReport(
            date_from=span[0], date_to=span[1], rows=rows, split_sales_count=split_count, totals_by_currency=totals
        ),
    )


def average_rate(taken_minor: int, tender_currency: str, paid_minor: int, currency: str) -> str | None:
    """What was handed over per unit of the sale's currency it was worth (paid + change),
    6 decimals, half even: the average rate of the tenders (a decimal string)."""
    if not taken_minor or not paid_minor or not tender_currency or tender_currency == currency:
        return None
    try:
        foreign, local = currency_info(tender_currency).scale, currency_info(currency).scale
    except ValueError:
        return None
    value = (Decimal(taken_minor) / foreign) / (Decimal(paid_minor) / local)
    return str(value.quantize(Decimal("0.000001")))


@router.get("/sales/tender-currencies", response_model=TenderCurrencyReport, responses=CSV_RESPONSE)
def tender_currencies(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    by: Annotated[
        Literal["outlet", "currency"], Query(description="a row per outlet, or the outlets of each currency summed")
    ] = "outlet",
    fmt: Format = "json",
) -> TenderCurrencyReport | Response:
    """Tenders per currency handed over (ADR 0072): for each tender kind and currency, how
    many, what was handed over in that currency (foreign cash: the foreign notes), and its
    equivalent in the outlet's currency (what it paid of the sales, and the change given)."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = tender_currency_sales
    figures = ("count", "taken_minor", "amount_minor", "change_minor")
    keys = ([t.c.outlet_id] if by == "outlet" else []) + [t.c.currency, t.c.tender_currency, t.c.kind]
    query = where(select(*keys, *sums(t, figures)), t, scope, span).group_by(*keys).order_by(*keys)
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
    rows = []
    for r in found:
        f = {c: int(r[c] or 0) for c in figures}
        rows.append(
            TenderCurrencyRow(
                outlet_id=r.get("outlet_id"),
                currency=r["currency"],
                tender_currency=r["tender_currency"],
                kind=r["kind"],
                average_rate=average_rate(
                    f["taken_minor"], r["tender_currency"], f["amount_minor"] + f["change_minor"], r["currency"]
                ),
                **f,
            )
        )
    totals: dict[str, TenderCurrencyTotals] = {}
    for row in rows:
        total = totals.setdefault(row.tender_currency, TenderCurrencyTotals(tender_currency=row.tender_currency))
        total.count += row.count
        total.taken_minor += row.taken_minor
    first = (["outlet_id"] if by == "outlet" else []) + ["kind", "tender_currency", "count", "taken_minor", "currency"]
    return answer(
        request,
        fmt,
        Csv(
            "sales-tender-currencies",
            span,
            columns(TenderCurrencyRow, first, () if by == "outlet" else ("outlet_id",)),
            currency_of={"taken_minor": "tender_currency"},
        ),
        rows,
        lambda: TenderCurrencyReport(
            date_from=span[0],
            date_to=span[1],
            by=by,
            rows=rows,
            totals_by_tender_currency=[totals[k] for k in sorted(totals)],
        ),
    )


@router.get("/sales/outlets", response_model=OutletReport, responses=CSV_RESPONSE)
def outlet_report(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fmt: Format = "json",
) -> OutletReport | Response:
    """Each outlet over the range, against the period of the same length just before
    (gross_change_bp: which outlet is slipping). An outlet that sold before but nothing
    in the range is listed too, at zero (-100 %)."""
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    length = (span[1] - span[0]).days + 1
    previous = (span[0] - timedelta(days=length), span[0] - timedelta(days=1))
    t = daily_sales
    keys = [t.c.outlet_id, t.c.currency]
    now = where(select(*keys, *sums(t, SALES_SUMS)), t, scope, span).group_by(*keys)
    before = where(select(*keys, *sums(t, ("gross_minor", "sales_count"))), t, scope, previous).group_by(*keys)
    with session(request) as s:
        found = [r._mapping for r in s.execute(now)]
        earlier = {(r.outlet_id, r.currency): r for r in s.execute(before)}
        known = names(s, outlets, "outlet_id", [k[0] for k in earlier] + [r["outlet_id"] for r in found])
    sold_now = {(r["outlet_id"], r["currency"]) for r in found}
    silent = [{"outlet_id": o, "currency": c} for o, c in earlier if (o, c) not in sold_now]
    rows = []
    for r in [*found, *silent]:
        figures = sales_figures(r)
        past = earlier.get((r["outlet_id"], r["currency"]))
        past_gross = int(past.gross_minor or 0) if past is not None else 0
        outlet = known.get(r["outlet_id"])
        rows.append(
            OutletRow(
                outlet_id=r["outlet_id"],
                name=outlet.name if outlet is not None else r["outlet_id"],
                timezone=outlet.timezone if outlet is not None else "UTC",
                currency=r["currency"],
                previous_gross_minor=past_gross,
                previous_sales_count=int(past.sales_count or 0) if past is not None else 0,
                gross_change_bp=ratio_bp(figures["gross_minor"] - past_gross, past_gross),
                **figures,
            )
        )
    rows.sort(key=lambda row: (row.currency, -row.gross_minor, row.outlet_id))
    totals = sales_totals(found)
    download = Csv(
        "sales-outlets",
        span,
        columns(OutletRow, ["name", "timezone", "currency"], ("outlet_id",)),
        headers={"name": "outlet"},
    )
    return answer(
        request,
        fmt,
        download,
        rows,
        lambda: OutletReport(
            date_from=span[0],
            date_to=span[1],
            previous_from=previous[0],
            previous_to=previous[1],
            rows=rows,
            totals_by_currency=totals,
            chain_total=chain_total_for(request, totals),
        ),
    )
