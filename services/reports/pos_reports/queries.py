"""The SQL the reports run, on the pre-aggregated read models and the replicas: scoping a
query to outlets and days, summing as integers, names by id, and the product ranking and
days-of-cover queries that need more than one statement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, NamedTuple

from fastapi import Request
from sqlalchemy import BigInteger, Select, String, and_, case, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from pos_platform.app import service_context
from pos_reports.blocks import cover
from pos_reports.config import Settings
from pos_reports.figures import LINE_SUMS
from pos_reports.tables import item_sales, outlets, product_sales, products, registers, stock_levels
from pos_reports.velocity import sold_over


def session(request: Request) -> Session:
    return service_context(request, Settings).db.session_factory()


def where(query: Select[Any], table: Any, scope: list[str] | None, span: tuple[date, date] | None) -> Select[Any]:
    """Only these outlets (None: every one) and days (None: every day)."""
    if span is not None:
        query = query.where(table.c.day >= span[0], table.c.day <= span[1])
    if scope is not None:
        query = query.where(table.c.outlet_id.in_(scope))
    return query


def sums(table: Any, columns: Iterable[str]) -> list[Any]:
    # MariaDB's SUM is a DECIMAL, which PyMySQL turns into Decimal objects (slowly):
    # cast back to the integer it is.
    return [cast(func.sum(table.c[c]), BigInteger).label(c) for c in columns]


# The replica columns a report shows, per replica table.
SHOWN = {
    "products": ("sku", "name", "category_id"),
    "categories": ("name",),
    "users": ("name",),
    "outlets": ("name", "timezone"),
    "registers": ("name",),
}


def names(session: Session, table: Any, key: str, ids: Iterable[str]) -> dict[str, Any]:
    """Replica rows (only the shown columns) for these ids."""
    wanted = sorted({i for i in ids if i})
    columns = [table.c[key], *(table.c[c] for c in SHOWN[table.name])]
    found: dict[str, Any] = {}
    for start in range(0, len(wanted), 1000):
        rows = session.execute(select(*columns).where(table.c[key].in_(wanted[start : start + 1000])))
        found.update({row._mapping[key]: row for row in rows})
    return found


def register_names(request: Request, ids: Iterable[str | None]) -> dict[str, str]:
    """Register names from the replica (identity's RegisterChanged); a register not
    announced is left out."""
    with session(request) as s:
        return register_names_in(s, ids)


def register_names_in(s: Session, ids: Iterable[str | None]) -> dict[str, str]:
    """Register names by id, in an open session."""
    return {key: row.name for key, row in names(s, registers, "register_id", [i or "" for i in ids]).items()}


def outlet_names(request: Request, ids: Iterable[str | None]) -> dict[str, str]:
    """Outlet names from the replica, for a CSV (an outlet not announced: its id)."""
    with session(request) as s:
        return {key: row.name for key, row in names(s, outlets, "outlet_id", [i or "" for i in ids]).items()}


# --- products ------------------------------------------------------------------------


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


def product_source(session: Session, scope: list[str] | None, span: tuple[date, date]) -> tuple[Any, list[Any]]:
    """The table and conditions that sum products over the span for the scope."""
    if covers_every_outlet(session, scope):
        t = product_sales
        blocks = cover(span[0], span[1])
        return t, [or_(*(and_(t.c.level == level, t.c.start == start) for level, start in blocks))]
    t = item_sales
    return t, [t.c.outlet_id.in_(scope or []), t.c.day >= span[0], t.c.day <= span[1]]


class Current(NamedTuple):
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


def ranked_with_names(
    session: Session, t: Any, conditions: list[Any], sort: str, order: str, limit: int
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], dict[str, Any]], dict[str, Current]]:
    """The first `limit` products on `sort`, every figure summed in one pass, joined with
    the replica's current sku, name and category."""
    rank = SORT_EXPR[sort](t)
    grouped = (
        select(t.c.product_id, t.c.currency, func.max(t.c.category_id).label("category_id"), *sums(t, LINE_SUMS))
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
    replica: dict[str, Current] = {}
    for product_id, currency, category_id, packed, sku, name, current_category in session.execute(query):
        key = (product_id, currency)
        chosen.append(key)
        summed[key] = dict(zip(LINE_SUMS, map(int, packed.split(",")), strict=True)) | {"category_id": category_id}
        if sku is not None:
            replica[product_id] = Current(sku, name, current_category)
    return chosen, summed, replica


def top(
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
            select(t.c.product_id, t.c.currency, func.max(t.c.category_id).label("category_id"), *sums(t, LINE_SUMS))
            .where(*conditions, pick)
            .group_by(t.c.product_id, t.c.currency)
        )
        summed = {(r.product_id, r.currency): r._mapping for r in session.execute(query)}
    return chosen, summed


def unsold(session: Session, scope: list[str] | None, span: tuple[date, date], category_id: str | None, limit: int) -> list[Any]:
    """Active products with no sale in the range at these outlets (never-sold first)."""
    sold = where(select(item_sales.c.product_id), item_sales, scope, span).where(item_sales.c.qty > 0)
    query = select(products).where(products.c.active.is_(True), products.c.product_id.not_in(sold))
    if category_id is not None:
        query = query.where(func.coalesce(products.c.category_id, "") == category_id)
    return list(session.execute(query.order_by(products.c.sku).limit(limit)))


# --- stock -----------------------------------------------------------------------------


def cover_now(
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


def stock_found(
    session: Session,
    scope: list[str] | None,
    window: tuple[date, date],
    target_days: int,
    *,
    low_only: bool,
    fresh: bool,
    reorder_only: bool,
    limit: int,
) -> tuple[list[Mapping[str, Any]], dict[tuple[str, str], int]]:
    """Stock rows and what each sold over the window: products at or below their
    reorder point (low_only), else least cover first, from the refreshed velocity when
    it covers the window (fresh), else summed now."""
    s = stock_levels
    days = (window[1] - window[0]).days + 1
    level = case((s.c.on_hand < 0, 0), else_=s.c.on_hand)
    if low_only:
        query = (
            select(s).where(s.c.low.is_(True)).order_by((s.c.on_hand - s.c.reorder_point).asc(), s.c.outlet_id, s.c.product_id)
        )
    elif fresh:
        query = select(s).where(s.c.sold_window > 0)
        if reorder_only:
            query = query.where(level * days < s.c.sold_window * target_days)
        query = query.order_by((level * 1.0 / s.c.sold_window).asc(), s.c.outlet_id, s.c.product_id)
    else:
        return cover_now(session, scope, window, target_days, reorder_only, limit)
    if scope is not None:
        query = query.where(s.c.outlet_id.in_(scope))
    found = [r._mapping for r in session.execute(query.limit(limit))]
    if fresh:
        return found, {(r["outlet_id"], r["product_id"]): int(r["sold_window"]) for r in found}
    outlets_in = sorted({r["outlet_id"] for r in found})
    return found, sold_over(session, outlets_in, window, sorted({r["product_id"] for r in found}))
