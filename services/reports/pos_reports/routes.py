"""Report endpoints. Every one: managers (and admins) only; covers the outlets the
caller may see (one, several with repeated `outlet_id`, or all); JSON for charts, or
CSV with format=csv. Reads only the pre-aggregated read models, so its cost grows
with the days in the range, not the sales in it."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import BigInteger, Select, String, and_, case, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from pos_platform.app import ServiceContext
from pos_platform.auth import Manager, Principal, ensure_outlet
from pos_platform.currencies import currency as currency_info
from pos_platform.db import utcnow
from pos_reports.blocks import cover
from pos_reports.schemas import (
    CashierReport,
    CashierRow,
    CategoryReport,
    CategoryRow,
    DailyReport,
    DailyRow,
    HeatRow,
    HourlyReport,
    HourRow,
    ItemReport,
    ItemRow,
    LineFigures,
    OutletReport,
    OutletRow,
    SalesFigures,
    ShiftReport,
    ShiftRow,
    ShiftTotals,
    StockReport,
    StockRow,
    TenderReport,
    TenderRow,
    TenderTotals,
    ValuationReport,
    ValuationRow,
    ValuationTotals,
)
from pos_reports.tables import (
    cashier_sales,
    categories,
    category_sales,
    daily_sales,
    hourly_sales,
    item_sales,
    outlets,
    product_sales,
    products,
    shifts,
    stock_levels,
    stock_value,
    tender_sales,
    users,
)
from pos_reports.velocity import snapshot, sold_over

router = APIRouter(prefix="/api/reports", tags=["reports"])

DEFAULT_DAYS = 30
MAX_DAYS = 366
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}

OutletIds = Annotated[
    list[str] | None,
    Query(alias="outlet_id", description="an outlet (repeat for several); default: every outlet you may see"),
]
# Days a report may name: a year as far back as 0001 made the previous period's (or the
# cover window's) date arithmetic overflow into a 500.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)
DateFrom = Annotated[
    date | None,
    Query(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="first day (YYYY-MM-DD, the outlet's local day, 2000-01-01 or later); default: 29 days before date_to",
    ),
]
DateTo = Annotated[
    date | None,
    Query(ge=FIRST_DAY, le=LAST_DAY, description="last day, included (YYYY-MM-DD, 2000-01-01 or later); default: today (UTC)"),
]
Format = Annotated[Literal["json", "csv"], Query(alias="format", description="json, or csv for a download")]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many rows")]

SALES_SUMS = (
    "sales_count",
    "items_sold",
    "gross_minor",
    "discount_minor",
    "tax_minor",
    "cost_minor",
    "refund_count",
    "refund_items",
    "refund_minor",
    "refund_tax_minor",
    "refund_cost_minor",
)
LINE_SUMS = (
    "qty",
    "gross_minor",
    "discount_minor",
    "tax_minor",
    "cost_minor",
    "refund_qty",
    "refund_minor",
    "refund_tax_minor",
    "refund_cost_minor",
)


# --- helpers ---------------------------------------------------------------------------


def _session(request: Request) -> Session:
    ctx: ServiceContext = request.app.state.ctx
    return ctx.db.session_factory()


def unprocessable(field: str, message: str, value: object) -> HTTPException:
    """A 422 in the documented shape, FastAPI's validation errors: a list of {loc, msg,
    type, input}, the message saying what to change."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"type": "value_error", "loc": ["query", field], "msg": message, "input": value}],
    )


def _date_range(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Both ends included."""
    date_to = date_to or utcnow().date()
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise unprocessable(
            "date_from",
            f"date_from ({date_from}) is after date_to ({date_to}): choose a date_from on or before date_to",
            date_from.isoformat(),
        )
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        raise unprocessable(
            "date_from",
            f"the range {date_from} to {date_to} covers {days} days; a report covers at most {MAX_DAYS}: narrow it",
            date_from.isoformat(),
        )
    return date_from, date_to


def visible_outlets(principal: Principal, requested: list[str] | None) -> list[str] | None:
    """The outlets a report covers: those asked for (each one the caller may see, or
    404), else all the caller may see; None means every outlet (an admin). An empty
    outlet_id (a form's "all outlets") is no filter."""
    requested = [o for o in requested or [] if o]
    if requested:
        for outlet_id in requested:
            if len(outlet_id) > 36:
                raise unprocessable("outlet_id", "outlet_id is at most 36 characters: give an outlet's id", outlet_id)
            if not (outlet_id.isascii() and outlet_id.isprintable()):
                # Outlet ids are ASCII (the columns are ascii_bin on MariaDB): no such outlet.
                raise HTTPException(status.HTTP_404_NOT_FOUND, "outlet not found")
            ensure_outlet(principal, outlet_id)
        return list(dict.fromkeys(requested))
    return principal.visible_outlets(None)


def every_outlet(request: Request, scope: list[str] | None) -> list[str]:
    """The scope as a list: None (every outlet) becomes the outlets the reports know.
    An explicit list lets MariaDB read (outlet, day) ranges of the primary keys instead
    of every day of every outlet."""
    if scope is not None:
        return scope
    with _session(request) as session:
        return sorted(session.scalars(select(outlets.c.outlet_id)))


def _json(report: BaseModel) -> Response:
    """The report as JSON, serialised once by pydantic (not validated again)."""
    return Response(report.model_dump_json(), media_type="application/json")


def _where(query: Select[Any], table: Any, scope: list[str] | None, span: tuple[date, date] | None) -> Select[Any]:
    if span is not None:
        query = query.where(table.c.day >= span[0], table.c.day <= span[1])
    if scope is not None:
        query = query.where(table.c.outlet_id.in_(scope))
    return query


def _sums(table: Any, columns: Iterable[str]) -> list[Any]:
    # MariaDB's SUM is a DECIMAL, which PyMySQL turns into Decimal objects (slowly):
    # cast back to the integer it is.
    return [cast(func.sum(table.c[c]), BigInteger).label(c) for c in columns]


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


def ratio_bp(part: int, whole: int) -> int | None:
    if whole == 0:
        return None
    sign = -1 if (part < 0) != (whole < 0) else 1
    return sign * half_up(abs(part) * 10_000, abs(whole))


def sales_figures(values: Mapping[str, Any]) -> dict[str, Any]:
    """The summed columns (MySQL's SUM is a DECIMAL: int() it) and what follows from them."""
    f = {c: int(values.get(c) or 0) for c in SALES_SUMS}
    f["net_minor"] = f["gross_minor"] - f["tax_minor"]
    f["net_after_refunds_minor"] = f["net_minor"] - (f["refund_minor"] - f["refund_tax_minor"])
    f["average_basket_minor"] = half_up(f["gross_minor"], f["sales_count"]) if f["sales_count"] else 0
    f["margin_minor"] = f["net_after_refunds_minor"] - (f["cost_minor"] - f["refund_cost_minor"])
    f["margin_bp"] = ratio_bp(f["margin_minor"], f["net_after_refunds_minor"])
    return f


def line_figures(values: Mapping[str, Any]) -> dict[str, Any]:
    f = {c: int(values.get(c) or 0) for c in LINE_SUMS}
    f["net_minor"] = f["gross_minor"] - f["tax_minor"]
    f["net_after_refunds_minor"] = f["net_minor"] - (f["refund_minor"] - f["refund_tax_minor"])
    f["margin_minor"] = f["net_after_refunds_minor"] - (f["cost_minor"] - f["refund_cost_minor"])
    f["margin_bp"] = ratio_bp(f["margin_minor"], f["net_after_refunds_minor"])
    return f


def by_currency(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """Sums per currency (never across currencies)."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(columns, 0))
    for row in rows:
        total = totals[row["currency"]]
        for column in columns:
            total[column] += int(row.get(column) or 0)
    return dict(sorted(totals.items()))


def _cell(value: object) -> object:
    # A text cell starting like a formula is run by spreadsheets: make it plain text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(
    name: str,
    span: tuple[date, date] | None,
    fields: Sequence[str],
    rows: Iterable[BaseModel],
    *,
    outlet_names: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return _csv_records(name, span, fields, (row.__dict__ for row in rows), outlet_names=outlet_names, headers=headers)


def decimal_amount(minor: int, currency: str) -> str:
    """Minor units as the decimal a spreadsheet reads, in the currency's ISO 4217
    exponent: 1250 EUR -> '12.50', -5 EUR -> '-0.05', 500 JPY -> '500'. No float."""
    exponent = _exponent(currency)
    if not exponent:
        return str(minor)
    sign = "-" if minor < 0 else ""
    units, fraction = divmod(abs(minor), 10**exponent)
    return f"{sign}{units}.{fraction:0{exponent}d}"


def _exponent(currency: str) -> int:
    try:
        return currency_info(currency).minor_units
    except ValueError:
        return 2  # a code ISO 4217 does not know: cents, as most currencies have


MINOR = "_minor"


def _csv_records(
    name: str,
    span: tuple[date, date] | None,
    fields: Sequence[str],
    records: Iterable[Mapping[str, Any]],
    *,
    outlet_names: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """CSV of plain records (a row model's fields as a dict): no model per row for a big
    download. Written for people and spreadsheets, not as the JSON is: an amount (a
    *_minor field) is a decimal in the row's currency (the `currency` column) under its
    name without _minor ("gross": "12.50"); an outlet is its name (column "outlet",
    `outlet_names`), never its id. Text cells go through _cell; None is an empty cell.
    `headers` renames columns (e.g. the outlet report's "name" -> "outlet")."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    renames = {"outlet_id": "outlet", "outlet_name": "outlet", **(headers or {})}
    writer.writerow([renames.get(f, f[: -len(MINOR)] if f.endswith(MINOR) else f) for f in fields])
    names = outlet_names or {}
    kinds = ["money" if f.endswith(MINOR) else "outlet" if f == "outlet_id" else "cell" for f in fields]
    plan = list(zip(fields, kinds, strict=True))
    for record in records:
        currency = record.get("currency") or ""
        row: list[object] = []
        for field, kind in plan:
            value = record[field]
            if value is None:
                row.append(None)
            elif kind == "money":
                row.append(decimal_amount(value, currency))
            elif kind == "outlet":
                row.append(_cell(names.get(value, value)))
            else:
                row.append(_cell(value) if isinstance(value, str) else value)
        writer.writerow(row)
    suffix = f"_{span[0].isoformat()}_{span[1].isoformat()}" if span else f"_{utcnow().date().isoformat()}"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}{suffix}.csv"'},
    )


def _outlet_names(request: Request, ids: Iterable[str | None]) -> dict[str, str]:
    """Outlet names from the replica, for a CSV (an outlet not announced: its id)."""
    with _session(request) as session:
        return {key: row.name for key, row in _names(session, outlets, "outlet_id", [i or "" for i in ids]).items()}


def _columns(model: type[BaseModel], first: Sequence[str], skip: Sequence[str] = ()) -> list[str]:
    """CSV columns: the row's dimensions first, then its figures."""
    return [*first, *(f for f in model.model_fields if f not in first and f not in skip)]


# The replica columns a report shows, per replica table.
SHOWN = {"products": ("sku", "name", "category_id"), "categories": ("name",), "users": ("name",), "outlets": ("name", "timezone")}


def _names(session: Session, table: Any, key: str, ids: Iterable[str]) -> dict[str, Any]:
    """Replica rows (only the shown columns) for these ids."""
    wanted = sorted({i for i in ids if i})
    columns = [table.c[key], *(table.c[c] for c in SHOWN[table.name])]
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 1000):
        rows = session.execute(select(*columns).where(table.c[key].in_(wanted[start : start + 1000])))
        found.update({row._mapping[key]: row for row in rows})
    return found


# --- sales by day ----------------------------------------------------------------------


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
    span = _date_range(date_from, date_to)
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = daily_sales
    extra = ("split_count", "void_count")
    if by == "day_outlet":
        query = _where(select(t), t, scope, span).order_by(t.c.day, t.c.outlet_id)
    else:
        query = (
            _where(select(t.c.day, t.c.currency, *_sums(t, SALES_SUMS + extra)), t, scope, span)
            .group_by(t.c.day, t.c.currency)
            .order_by(t.c.day, t.c.currency)
        )
    with _session(request) as session:
        found = [r._mapping for r in session.execute(query)]
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
    totals = [SalesFigures(currency=c, **sales_figures(s)) for c, s in by_currency(found, SALES_SUMS).items()]
    if fmt == "csv":
        first = ["day", "outlet_id", "currency"] if by == "day_outlet" else ["day", "currency"]
        names = _outlet_names(request, (r.outlet_id for r in rows)) if by == "day_outlet" else {}
        return _csv(
            "sales-daily", span, _columns(DailyRow, first, () if by == "day_outlet" else ("outlet_id",)), rows, outlet_names=names
        )
    return _json(
        DailyReport(
            date_from=span[0],
            date_to=span[1],
            by=by,
            rows=rows,
            totals=totals[0] if len(totals) == 1 else (SalesFigures(currency="") if not totals else None),
            totals_by_currency=totals,
        )
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
    span = _date_range(date_from, date_to)
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = hourly_sales
    if by == "hour":
        keys = [t.c.hour, t.c.currency]
        query = _where(select(*keys, *_sums(t, SALES_SUMS)), t, scope, span).group_by(*keys).order_by(*keys)
        with _session(request) as session:
            found = [r._mapping for r in session.execute(query)]
        rows: list[Any] = [HourRow(hour=r["hour"], currency=r["currency"], **sales_figures(r)) for r in found]
        totals = [SalesFigures(currency=c, **sales_figures(s)) for c, s in by_currency(found, SALES_SUMS).items()]
        if fmt == "csv":
            return _csv("sales-hourly", span, _columns(HourRow, ["hour", "currency"], ("day",)), rows)
    else:
        keys = [t.c.day, t.c.hour, t.c.currency]
        cells = _where(select(*keys, *_sums(t, HEAT_SUMS)), t, scope, span).group_by(*keys).order_by(*keys)
        # The day and the hour tables hold the same sales: the (smaller) day table totals.
        d = daily_sales
        whole = _where(select(d.c.currency, *_sums(d, SALES_SUMS)), d, scope, span).group_by(d.c.currency).order_by(d.c.currency)
        with _session(request) as session:
            found = [r._mapping for r in session.execute(cells)]
            totals = [SalesFigures(currency=r.currency, **sales_figures(r._mapping)) for r in session.execute(whole)]
        rows = [heat_row(r) for r in found]
        if fmt == "csv":
            return _csv("sales-day-hour", span, list(HeatRow.model_fields), rows)
    return _json(HourlyReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals))


HEAT_SUMS = ("sales_count", "items_sold", "gross_minor", "tax_minor", "refund_minor", "refund_tax_minor")


def heat_row(r: Mapping[str, Any]) -> HeatRow:
    f = {c: int(r[c] or 0) for c in HEAT_SUMS}
    net = f["gross_minor"] - f["tax_minor"]
    return HeatRow(
        day=r["day"],
        hour=r["hour"],
        currency=r["currency"],
        sales_count=f["sales_count"],
        items_sold=f["items_sold"],
        gross_minor=f["gross_minor"],
        net_minor=net,
        refund_minor=f["refund_minor"],
        net_after_refunds_minor=net - f["refund_minor"] + f["refund_tax_minor"],
        average_basket_minor=half_up(f["gross_minor"], f["sales_count"]) if f["sales_count"] else 0,
    )


# --- products and categories ---------------------------------------------------------

ItemSort = Literal["gross", "net", "qty", "margin", "cost", "refunds"]


def _net(t: Any) -> Any:
    return func.sum(t.c.gross_minor) - func.sum(t.c.tax_minor) - func.sum(t.c.refund_minor) + func.sum(t.c.refund_tax_minor)


SORT_EXPR = {
    "gross": lambda t: func.sum(t.c.gross_minor),
    "net": _net,
    "qty": lambda t: func.sum(t.c.qty),
    "margin": lambda t: _net(t) - func.sum(t.c.cost_minor) + func.sum(t.c.refund_cost_minor),
    "cost": lambda t: func.sum(t.c.cost_minor),
    "refunds": lambda t: func.sum(t.c.refund_minor),
}


def _summed_net(c: Any) -> Any:
    return c.gross_minor - c.tax_minor - c.refund_minor + c.refund_tax_minor


# SORT_EXPR on the columns of a query that already summed them.
SUMMED_SORT = {
    "gross": lambda c: c.gross_minor,
    "net": _summed_net,
    "qty": lambda c: c.qty,
    "margin": lambda c: _summed_net(c) - c.cost_minor + c.refund_cost_minor,
    "cost": lambda c: c.cost_minor,
    "refunds": lambda c: c.refund_minor,
}


def covers_every_outlet(session: Session, scope: list[str] | None) -> bool:
    """True when the scope holds every outlet the reports know (then the blocks over
    every outlet answer instead of one row per outlet and day)."""
    if scope is None:
        return True
    missing = session.scalar(select(func.count()).select_from(outlets).where(outlets.c.outlet_id.not_in(scope)))
    return not missing


def _product_source(session: Session, scope: list[str] | None, span: tuple[date, date]) -> tuple[Any, list[Any]]:
    """The table and conditions that sum products over the span for the scope."""
    if covers_every_outlet(session, scope):
        t = product_sales
        blocks = cover(span[0], span[1])
        return t, [or_(*(and_(t.c.level == level, t.c.start == start) for level, start in blocks))]
    t = item_sales
    return t, [t.c.outlet_id.in_(scope or []), t.c.day >= span[0], t.c.day <= span[1]]


@router.get("/sales/items", response_model=ItemReport, responses=CSV_RESPONSE)
def items(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 50,
    sort: Annotated[ItemSort, Query(description="what to rank by")] = "gross",
    order: Annotated[Literal["desc", "asc"], Query(description="desc: top sellers; asc: bottom sellers")] = "desc",
    category_id: Annotated[
        # Ids are ASCII (ascii_bin columns on MariaDB): anything else is refused up front.
        str | None, Query(max_length=36, pattern=r"^[\x20-\x7e]*$", description="only this category ('' for none)")
    ] = None,
    include_unsold: Annotated[bool, Query(description="with order=asc: list active products that sold nothing first")] = False,
    fmt: Format = "json",
) -> ItemReport | Response:
    """Products over the range: quantity, net, cost at the time of sale and margin;
    top sellers (order=desc) or bottom sellers (order=asc). Names are the catalog's
    current ones."""
    span = _date_range(date_from, date_to)
    scope = visible_outlets(principal, outlet_ids)
    with _session(request) as session:
        t, conditions = _product_source(session, scope, span)
        if category_id is not None:
            conditions.append(t.c.category_id == category_id)
        rank = SORT_EXPR[sort](t)
        replica: dict[str, Any]
        if limit > 200:
            # Many rows: one pass summing everything beats looking each one up again, and
            # the names come with it (a join, not a second query with 1,000 ids).
            chosen, summed, replica = _ranked_with_names(session, t, conditions, sort, order, limit)
        else:
            chosen, summed = _top(session, t, conditions, rank, order, limit)
            replica = _names(session, products, "product_id", [p for p, _ in chosen])
        unsold: list[Any] = []
        if include_unsold and order == "asc":
            unsold = _unsold(session, scope, span, category_id, limit)
        category_ids = [summed[k]["category_id"] for k in chosen] + [p.category_id or "" for p in replica.values()]
        category_ids += [p.category_id or "" for p in unsold]
        names = _names(session, categories, "category_id", category_ids)
    # Plain records first (a 1,000-row download is written from them, without a model per row).
    records: list[dict[str, Any]] = []
    for p in unsold:
        records.append(
            {
                "product_id": p.product_id,
                "sku": p.sku,
                "name": p.name,
                "currency": p.currency,
                "category_id": p.category_id,
                "category_name": _category_name(names, p.category_id),
            }
            | UNSOLD_FIGURES
        )
    for key in chosen:
        r = summed[key]
        current = replica.get(key[0])
        category = (current.category_id if current is not None else None) or r["category_id"] or None
        records.append(
            {
                "product_id": key[0],
                "sku": current.sku if current is not None else key[0],
                "name": current.name if current is not None else key[0],
                "currency": key[1],
                "category_id": category,
                "category_name": _category_name(names, category),
            }
            | line_figures(r)
        )
    records = records[:limit]
    if fmt == "csv":
        return _csv_records("sales-items", span, ITEM_CSV_COLUMNS, records)
    rows = [ItemRow(**record) for record in records]
    return _json(ItemReport(date_from=span[0], date_to=span[1], sort=sort, order=order, rows=rows))


ITEM_TEXT_COLUMNS = ["product_id", "sku", "name", "category_id", "category_name", "currency"]
ITEM_CSV_COLUMNS = _columns(ItemRow, ITEM_TEXT_COLUMNS)
UNSOLD_FIGURES = line_figures({})


class _Current(NamedTuple):
    sku: str
    name: str
    category_id: str | None


def _joined(columns: Iterable[Any]) -> Any:
    """Integers as one comma-separated text ('12,0,-3')."""
    texts = [cast(column, String) for column in columns]
    joined = texts[0]
    for text in texts[1:]:
        joined = joined + "," + text
    return joined.label("sums")


def _ranked_with_names(
    session: Session, t: Any, conditions: list[Any], sort: str, order: str, limit: int
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], dict[str, Any]], dict[str, _Current]]:
    """The first `limit` products on `sort`, every figure summed in one pass, joined with
    the replica's current sku, name and category."""
    rank = SORT_EXPR[sort](t)
    grouped = (
        select(t.c.product_id, t.c.currency, func.max(t.c.category_id).label("category_id"), *_sums(t, LINE_SUMS))
        .where(*conditions)
        .group_by(t.c.product_id, t.c.currency)
        .order_by(rank.desc() if order == "desc" else rank.asc(), t.c.product_id, t.c.currency)
        .limit(limit)
        .subquery()
    )
    again = SUMMED_SORT[sort](grouped.c)  # the same rank, on the sums
    query = (
        select(
            grouped.c.product_id,
            grouped.c.currency,
            grouped.c.category_id,
            # The nine sums as one text cell: the driver parses each cell in Python, and
            # 1,000 rows x 9 numbers cost more than splitting 1,000 strings.
            _joined(grouped.c[column] for column in LINE_SUMS),
            products.c.sku,
            products.c.name,
            products.c.category_id,
        )
        .select_from(grouped.outerjoin(products, products.c.product_id == grouped.c.product_id))
        .order_by(again.desc() if order == "desc" else again.asc(), grouped.c.product_id, grouped.c.currency)
    )
    chosen: list[tuple[str, str]] = []
    summed: dict[tuple[str, str], dict[str, Any]] = {}
    replica: dict[str, _Current] = {}
    for product_id, currency, category_id, packed, sku, name, current_category in session.execute(query):
        key = (product_id, currency)
        chosen.append(key)
        summed[key] = dict(zip(LINE_SUMS, map(int, packed.split(",")), strict=True)) | {"category_id": category_id}
        if sku is not None:
            replica[product_id] = _Current(sku, name, current_category)
    return chosen, summed, replica


def _top(
    session: Session, t: Any, conditions: list[Any], rank: Any, order: str, limit: int
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], Any]]:
    """Rank every product on one figure, then sum everything for the chosen few."""
    ranked = session.execute(
        select(t.c.product_id, t.c.currency)
        .where(*conditions)
        .group_by(t.c.product_id, t.c.currency)
        .order_by(rank.desc() if order == "desc" else rank.asc(), t.c.product_id, t.c.currency)
        .limit(limit)
    ).all()
    chosen = [(r.product_id, r.currency) for r in ranked]
    summed: dict[tuple[str, str], Any] = {}
    if chosen:
        # (currency, product) pairs: on the blocks table, point reads of the primary key
        pick = tuple_(t.c.currency, t.c.product_id).in_([(c, p) for p, c in chosen])
        query = (
            select(t.c.product_id, t.c.currency, func.max(t.c.category_id).label("category_id"), *_sums(t, LINE_SUMS))
            .where(*conditions, pick)
            .group_by(t.c.product_id, t.c.currency)
        )
        summed = {(r.product_id, r.currency): r._mapping for r in session.execute(query)}
    return chosen, summed


def _category_name(names: dict[str, Any], category_id: str | None) -> str | None:
    if not category_id:
        return None
    row = names.get(category_id)
    return row.name if row is not None else category_id


def _unsold(session: Session, scope: list[str] | None, span: tuple[date, date], category_id: str | None, limit: int) -> list[Any]:
    """Active products with no sale in the range at these outlets (never-sold first)."""
    sold = _where(select(item_sales.c.product_id), item_sales, scope, span).where(item_sales.c.qty > 0)
    query = select(products).where(products.c.active.is_(True), products.c.product_id.not_in(sold))
    if category_id is not None:
        query = query.where(func.coalesce(products.c.category_id, "") == category_id)
    return list(session.execute(query.order_by(products.c.sku).limit(limit)))


@router.get("/sales/categories", response_model=CategoryReport, responses=CSV_RESPONSE)
def category_report(
    principal: Manager,
    request: Request,
    outlet_ids: OutletIds = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fmt: Format = "json",
) -> CategoryReport | Response:
    """Categories over the range: quantity, net, cost and margin (best first)."""
    span = _date_range(date_from, date_to)
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = category_sales
    query = (
        _where(select(t.c.category_id, t.c.currency, *_sums(t, LINE_SUMS)), t, scope, span)
        .group_by(t.c.category_id, t.c.currency)
        .order_by((func.sum(t.c.gross_minor) - func.sum(t.c.tax_minor)).desc(), t.c.category_id)
    )
    with _session(request) as session:
        found = [r._mapping for r in session.execute(query)]
        names = _names(session, categories, "category_id", [r["category_id"] for r in found])
    rows = [
        CategoryRow(
            category_id=r["category_id"] or None,
            name=_category_name(names, r["category_id"]) or "(no category)",
            currency=r["currency"],
            **line_figures(r),
        )
        for r in found
    ]
    totals = [LineFigures(currency=c, **line_figures(s)) for c, s in by_currency(found, LINE_SUMS).items()]
    if fmt == "csv":
        return _csv("sales-categories", span, _columns(CategoryRow, ["category_id", "name", "currency"], ("products",)), rows)
    return _json(CategoryReport(date_from=span[0], date_to=span[1], rows=rows, totals_by_currency=totals))


# --- people, registers, tenders, outlets -----------------------------------------------


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
    span = _date_range(date_from, date_to)
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = cashier_sales
    keys = {
        "cashier": [t.c.cashier_id],
        "register": [t.c.outlet_id, t.c.register_id],
        "cashier_register": [t.c.cashier_id, t.c.outlet_id, t.c.register_id],
    }[by] + [t.c.currency]
    query = (
        _where(select(*keys, *_sums(t, (*SALES_SUMS, "void_count"))), t, scope, span)
        .group_by(*keys)
        .order_by(func.sum(t.c.gross_minor).desc(), *keys)
    )
    with _session(request) as session:
        found = [r._mapping for r in session.execute(query)]
        people = _names(session, users, "user_id", [r.get("cashier_id") or "" for r in found])
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
    totals = [SalesFigures(currency=c, **sales_figures(s)) for c, s in by_currency(found, SALES_SUMS).items()]
    if fmt == "csv":
        first = {
            "cashier": ["cashier_id", "cashier_name", "currency"],
            "register": ["outlet_id", "register_id", "currency"],
            "cashier_register": ["cashier_id", "cashier_name", "outlet_id", "register_id", "currency"],
        }[by]
        dims = {"cashier_id", "cashier_name", "outlet_id", "register_id"}
        # One file name per view: "by register" saved beside "by cashier" must not clash.
        name = {"cashier": "sales-cashiers", "register": "sales-registers", "cashier_register": "sales-cashier-registers"}[by]
        names = _outlet_names(request, (r.outlet_id for r in rows)) if by != "cashier" else {}
        return _csv(name, span, _columns(CashierRow, first, tuple(dims - set(first))), rows, outlet_names=names)
    return _json(CashierReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals))


TENDER_SUMS = (
    "amount_minor",
    "count",
    "refund_minor",
    "refund_count",
    "captured_minor",
    "captured_count",
    "payment_refunded_minor",
    "payment_refund_count",
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
    span = _date_range(date_from, date_to)
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = tender_sales
    query = (
        _where(select(t.c.kind, t.c.currency, *_sums(t, TENDER_SUMS)), t, scope, span)
        .group_by(t.c.kind, t.c.currency)
        .order_by(t.c.currency, func.sum(t.c.amount_minor).desc(), t.c.kind)
    )
    split = _where(select(func.sum(daily_sales.c.split_count)), daily_sales, scope, span)
    with _session(request) as session:
        found = [r._mapping for r in session.execute(query)]
        split_count = int(session.scalar(split) or 0)
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
    if fmt == "csv":
        return _csv("sales-tenders", span, _columns(TenderRow, ["kind", "amount_minor", "count", "currency"]), rows)
    return _json(
        TenderReport(date_from=span[0], date_to=span[1], rows=rows, split_sales_count=split_count, totals_by_currency=totals)
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
    span = _date_range(date_from, date_to)
    length = (span[1] - span[0]).days + 1
    previous = (span[0] - timedelta(days=length), span[0] - timedelta(days=1))
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = daily_sales
    keys = [t.c.outlet_id, t.c.currency]
    now = _where(select(*keys, *_sums(t, SALES_SUMS)), t, scope, span).group_by(*keys)
    before = _where(select(*keys, *_sums(t, ("gross_minor", "sales_count"))), t, scope, previous).group_by(*keys)
    with _session(request) as session:
        found = [r._mapping for r in session.execute(now)]
        earlier = {(r.outlet_id, r.currency): r for r in session.execute(before)}
        known = _names(session, outlets, "outlet_id", [k[0] for k in earlier] + [r["outlet_id"] for r in found])
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
    totals = [SalesFigures(currency=c, **sales_figures(s)) for c, s in by_currency(found, SALES_SUMS).items()]
    if fmt == "csv":
        return _csv(
            "sales-outlets",
            span,
            _columns(OutletRow, ["name", "timezone", "currency"], ("outlet_id",)),
            rows,
            headers={"name": "outlet"},
        )
    return _json(
        OutletReport(
            date_from=span[0],
            date_to=span[1],
            previous_from=previous[0],
            previous_to=previous[1],
            rows=rows,
            totals_by_currency=totals,
        )
    )


# --- stock -------------------------------------------------------------------------------


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
    with _session(request) as session:
        found = [r._mapping for r in session.execute(query) if any(r._mapping[c] for c in VALUE_COUNTS)]
        known = _names(session, outlets, "outlet_id", [r["outlet_id"] for r in found])
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
    totals = [ValuationTotals(currency=c, **v) for c, v in by_currency(found, ("units", "value_minor")).items()]
    if fmt == "csv":
        return _csv("stock-valuation", None, _columns(ValuationRow, ["outlet_name", "currency"], ("outlet_id",)), rows)
    return _json(ValuationReport(rows=rows, totals_by_currency=totals))


VALUE_COUNTS = ("products_in_stock", "units", "value_minor", "negative_products", "uncosted_products")
VelocityDays = Annotated[int, Query(ge=1, le=365, description="days of sales the velocity is measured over")]
TargetDays = Annotated[int, Query(ge=1, le=365, description="days of stock a reorder should cover")]


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
    s = stock_levels
    days = (window[1] - window[0]).days + 1
    level = case((s.c.on_hand < 0, 0), else_=s.c.on_hand)
    with _session(request) as session:
        ready = snapshot(session)
        # The refreshed sales velocity when it covers this window; else summed now.
        fresh = ready is not None and (ready.window_from, ready.window_to) == window
        if low_only:
            query = (
                select(s)
                .where(s.c.low.is_(True))
                .order_by((s.c.on_hand - s.c.reorder_point).asc(), s.c.outlet_id, s.c.product_id)
            )
        elif fresh:
            query = select(s).where(s.c.sold_window > 0)
            if reorder_only:
                query = query.where(level * days < s.c.sold_window * target_days)
            query = query.order_by((level * 1.0 / s.c.sold_window).asc(), s.c.outlet_id, s.c.product_id)
        else:
            query = None
        if query is not None:
            if scope is not None:
                query = query.where(s.c.outlet_id.in_(scope))
            found = [r._mapping for r in session.execute(query.limit(limit))]
            if fresh:
                sold = {(r["outlet_id"], r["product_id"]): int(r["sold_window"]) for r in found}
            else:
                outlets_in = sorted({r["outlet_id"] for r in found})
                sold = sold_over(session, outlets_in, window, sorted({r["product_id"] for r in found}))
        else:
            found, sold = _cover_now(session, scope, window, target_days, reorder_only, limit)
        names = _names(session, products, "product_id", [r["product_id"] for r in found])
        places = _names(session, outlets, "outlet_id", [r["outlet_id"] for r in found])
    rows = []
    for r in found:
        key = (r["outlet_id"], r["product_id"])
        sold_qty = max(0, sold.get(key, 0))
        velocity = sold_qty / days
        on_hand = None if r["on_hand"] is None else int(r["on_hand"])
        stocked = max(on_hand or 0, 0)
        product, outlet = names.get(key[1]), places.get(key[0])
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
    return rows, (ready.computed_at if fresh else None)


def _cover_now(
    session: Session, scope: list[str] | None, window: tuple[date, date], target_days: int, reorder_only: bool, limit: int
) -> tuple[list[Mapping[str, Any]], dict[tuple[str, str], int]]:
    """Days of cover over a window the refresh did not work out: summed now (slower)."""
    i, s = item_sales, stock_levels
    days = (window[1] - window[0]).days + 1
    scope = scope if scope is not None else sorted(set(session.scalars(select(outlets.c.outlet_id))))
    sold = (
        select(i.c.outlet_id, i.c.product_id, (func.sum(i.c.qty) - func.sum(i.c.refund_qty)).label("sold"))
        .where(i.c.outlet_id.in_(scope), i.c.day >= window[0], i.c.day <= window[1])
        .group_by(i.c.outlet_id, i.c.product_id)
        .subquery()
    )
    level = func.coalesce(case((s.c.on_hand < 0, 0), else_=s.c.on_hand), literal(0))
    query = (
        select(sold.c.outlet_id, sold.c.product_id, s.c.on_hand, s.c.reorder_point, sold.c.sold)
        .select_from(sold.outerjoin(s, and_(s.c.outlet_id == sold.c.outlet_id, s.c.product_id == sold.c.product_id)))
        .where(sold.c.sold > 0)
    )
    if reorder_only:
        query = query.where(level * days < sold.c.sold * target_days)
    query = query.order_by((level * 1.0 / sold.c.sold).asc(), sold.c.outlet_id, sold.c.product_id).limit(limit)
    found = [r._mapping for r in session.execute(query)]
    return found, {(r["outlet_id"], r["product_id"]): int(r["sold"]) for r in found}


def _velocity_window(date_to: date | None, days: int) -> tuple[date, date]:
    end = date_to or utcnow().date()
    return end - timedelta(days=days - 1), end


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
    rows, computed = _stock_rows(request, scope, window, target_days, low_only=True, reorder_only=False, limit=limit)
    if fmt == "csv":
        return _csv("stock-low", window, [f for f in StockRow.model_fields if f != "outlet_id"], rows)
    return _json(
        StockReport(
            velocity_from=window[0], velocity_to=window[1], velocity_computed_at=computed, target_days=target_days, rows=rows
        )
    )


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
    rows, computed = _stock_rows(request, scope, window, target_days, low_only=False, reorder_only=reorder_only, limit=limit)
    if fmt == "csv":
        return _csv("stock-cover", window, [f for f in StockRow.model_fields if f != "outlet_id"], rows)
    return _json(
        StockReport(
            velocity_from=window[0], velocity_to=window[1], velocity_computed_at=computed, target_days=target_days, rows=rows
        )
    )


# --- shifts ------------------------------------------------------------------------------

SHIFT_SUMS = (
    "opening_float_minor",
    "expected_cash_minor",
    "counted_cash_minor",
    "over_short_minor",
    "sales_count",
    "sales_total_minor",
    "refunds_total_minor",
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
    span = _date_range(date_from, date_to)
    scope = every_outlet(request, visible_outlets(principal, outlet_ids))
    t = shifts
    if by == "shift":
        query = _where(select(t), t, scope, span).order_by(t.c.day.desc(), t.c.closed_at.desc(), t.c.shift_id).limit(limit)
    else:
        keys = [t.c.cashier_id, t.c.currency] if by == "cashier" else [t.c.day, t.c.outlet_id, t.c.currency]
        query = (
            _where(select(*keys, func.count().label("shifts"), *_sums(t, SHIFT_SUMS)), t, scope, span)
            .group_by(*keys)
            .order_by(*keys)
            .limit(limit)
        )
    total_query = _where(select(t.c.currency, func.count().label("shifts"), *_sums(t, SHIFT_SUMS)), t, scope, span).group_by(
        t.c.currency
    )
    with _session(request) as session:
        found = [r._mapping for r in session.execute(query)]
        totals_found = [r._mapping for r in session.execute(total_query)]
        people = _names(session, users, "user_id", [r.get("cashier_id") or "" for r in found])
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
    if fmt == "csv":
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
        names = _outlet_names(request, (r.outlet_id for r in rows)) if by != "cashier" else {}
        return _csv("shifts", span, _columns(ShiftRow, first, skip), rows, outlet_names=names)
    return _json(ShiftReport(date_from=span[0], date_to=span[1], by=by, rows=rows, totals_by_currency=totals))
