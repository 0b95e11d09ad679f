"""Products and categories over a range: quantity, net, cost and margin; top and bottom
sellers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from pos_platform.auth import Manager
from pos_reports.export import CSV_RESPONSE, Csv, answer, columns
from pos_reports.figures import LINE_SUMS, by_currency, line_figures
from pos_reports.queries import SORT_EXPR, names, product_source, ranked_with_names, session, sums, top, unsold, where
from pos_reports.schemas import CategoryReport, CategoryRow, ItemReport, ItemRow, LineFigures
from pos_reports.scope import DateFrom, DateTo, Format, Limit, OutletIds, date_range, days_and_outlets, visible_outlets
from pos_reports.tables import categories, category_sales, products

router = APIRouter()

ItemSort = Literal["gross", "net", "qty", "margin", "cost", "refunds"]
ITEM_TEXT_COLUMNS = ["product_id", "sku", "name", "category_id", "category_name", "currency"]
ITEM_CSV_COLUMNS = columns(ItemRow, ITEM_TEXT_COLUMNS)
UNSOLD_FIGURES = line_figures({})


def category_name(names: dict[str, Any], category_id: str | None) -> str | None:
    if not category_id:
        return None
    row = names.get(category_id)
    return row.name if row is not None else category_id


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
    span = date_range(date_from, date_to)
    scope = visible_outlets(principal, outlet_ids)
    with session(request) as s:
        t, conditions = product_source(s, scope, span)
        if category_id is not None:
            conditions.append(t.c.category_id == category_id)
        rank = SORT_EXPR[sort](t)
        replica: dict[str, Any]
        if limit > 200:
            # Many rows: one pass summing everything beats looking each one up again, and
            # the names come with it (a join, not a second query with 1,000 ids).
            chosen, summed, replica = ranked_with_names(s, t, conditions, sort, order, limit)
        else:
            chosen, summed = top(s, t, conditions, rank, order, limit)
            replica = names(s, products, "product_id", [p for p, _ in chosen])
        never: list[Any] = []
        if include_unsold and order == "asc":
            never = unsold(s, scope, span, category_id, limit)
        category_ids = [summed[k]["category_id"] for k in chosen] + [p.category_id or "" for p in replica.values()]
        category_ids += [p.category_id or "" for p in never]
        known = names(s, categories, "category_id", category_ids)
    # Plain records first (a 1,000-row download is written from them, without a model per row).
    records: list[dict[str, Any]] = []
    for p in never:
        records.append(
            {
                "product_id": p.product_id,
                "sku": p.sku,
                "name": p.name,
                "currency": p.currency,
                "category_id": p.category_id,
                "category_name": category_name(known, p.category_id),
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
                "category_name": category_name(known, category),
            }
            | line_figures(r)
        )
    records = records[:limit]
    return answer(
        request,
        fmt,
        Csv("sales-items", span, ITEM_CSV_COLUMNS),
        records,
        lambda: ItemReport(
            date_from=span[0], date_to=span[1], sort=sort, order=order, rows=[ItemRow(**record) for record in records]
        ),
    )


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
    span, scope = days_and_outlets(request, principal, outlet_ids, date_from, date_to)
    t = category_sales
    query = (
        where(select(t.c.category_id, t.c.currency, *sums(t, LINE_SUMS)), t, scope, span)
        .group_by(t.c.category_id, t.c.currency)
        .order_by((func.sum(t.c.gross_minor) - func.sum(t.c.tax_minor)).desc(), t.c.category_id)
    )
    with session(request) as s:
        found = [r._mapping for r in s.execute(query)]
        known = names(s, categories, "category_id", [r["category_id"] for r in found])
    rows = [
        CategoryRow(
            category_id=r["category_id"] or None,
            name=category_name(known, r["category_id"]) or "(no category)",
            currency=r["currency"],
            **line_figures(r),
        )
        for r in found
    ]
    totals = [LineFigures(currency=c, **line_figures(f)) for c, f in by_currency(found, LINE_SUMS).items()]
    return answer(
        request,
        fmt,
        Csv("sales-categories", span, columns(CategoryRow, ["category_id", "name", "currency"], ("products",))),
        rows,
        lambda: CategoryReport(date_from=span[0], date_to=span[1], rows=rows, totals_by_currency=totals),
    )
