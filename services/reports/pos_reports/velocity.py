"""Sales velocity for days of cover: how much of each product each outlet sold over the
last N days (net of refunds), stored next to the stock level (stock_levels.sold_window)
by a refresh every few minutes. Days of cover and the low-stock list then read one
row per level instead of summing N days of sales for every product and outlet at each
request. A request for another window is summed on the spot (slower)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update

from pos_platform.db import Database, upsert, utcnow
from pos_platform.periodic import periodic
from pos_reports.tables import item_sales, outlets, snapshots, stock_levels

log = logging.getLogger("pos.reports.velocity")

NAME = "velocity"


def sold_over(
    session: Any, outlet_ids: list[str], window: tuple[date, date], product_ids: list[str] | None = None
) -> dict[tuple[str, str], int]:
    """Units sold minus units refunded per (outlet, product) over the window."""
    sold: dict[tuple[str, str], int] = {}
    for start in range(0, len(outlet_ids), 10):
        query = _window_sums(outlet_ids[start : start + 10], window)
        if product_ids is not None:
            query = query.where(item_sales.c.product_id.in_(product_ids))
        sold.update({(r.outlet_id, r.product_id): int(r.sold) for r in session.execute(query)})
    return sold


def _window_sums(outlet_ids: list[str], window: tuple[date, date]) -> Any:
    """Per (outlet, product) of these outlets: units sold minus refunded over the window."""
    i = item_sales
    return (
        select(i.c.outlet_id, i.c.product_id, (func.sum(i.c.qty) - func.sum(i.c.refund_qty)).label("sold"))
        .where(i.c.outlet_id.in_(outlet_ids), i.c.day >= window[0], i.c.day <= window[1])
        .group_by(i.c.outlet_id, i.c.product_id)
    )


def refresh_velocity(db: Database, days: int = 28, today: date | None = None) -> tuple[date, date]:
    """Work out sold_window for every stock level over the `days` days ending today (UTC).
    MariaDB compares the window's sums with what the levels hold and answers only the
    levels that changed (a plain read, no locks): the service's interpreter handles a few
    rows instead of every level and every sum (60,000 and 26,000 on a year of 20 outlets)."""
    end = today or utcnow().date()
    window = (end - timedelta(days=days - 1), end)
    s = stock_levels
    with db.session_factory() as session:
        outlet_ids = sorted(
            set(session.scalars(select(outlets.c.outlet_id))) | set(session.scalars(select(s.c.outlet_id).distinct()))
        )
        sold = _window_sums(outlet_ids, window).subquery()
        now = func.coalesce(sold.c.sold, 0)
        changed = session.execute(
            select(s.c.outlet_id, s.c.product_id, now)
            .select_from(s.outerjoin(sold, and_(sold.c.outlet_id == s.c.outlet_id, sold.c.product_id == s.c.product_id)))
            .where(s.c.sold_window != now)
            .order_by(s.c.outlet_id, s.c.product_id)
        ).all()
    changes = [{"o": outlet_id, "p": product_id, "v": int(value)} for outlet_id, product_id, value in changed]
    statement = (
        update(stock_levels)
        .where(stock_levels.c.outlet_id == bindparam("o"), stock_levels.c.product_id == bindparam("p"))
        .values(sold_window=bindparam("v"))
    )
    for start in range(0, len(changes), 1000):
        with db.transaction() as uow:
            uow.session.execute(statement, changes[start : start + 1000])
    with db.transaction() as uow:
        upsert(
            uow.session,
            snapshots,
            {"name": NAME},
            sets={"window_from": window[0], "window_to": window[1], "computed_at": utcnow()},
        )
    log.info("velocity refreshed", extra={"window": f"{window[0]}..{window[1]}", "changed": len(changes)})
    return window


def snapshot(session: Any) -> Any:
    return session.execute(select(snapshots).where(snapshots.c.name == NAME)).first()


async def refresh_forever(db: Database, days: int, interval: float) -> None:
    """The background job: refresh now (soon after start-up) and every `interval` s."""
    await periodic(
        lambda: asyncio.to_thread(refresh_velocity, db, days),
        every=interval,
        first_after=min(5.0, interval),
        what="velocity refresh",
        logger=log,
    )
