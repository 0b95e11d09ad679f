"""Sales' past events regenerated from its own tables: SaleCompleted, SaleRefunded,
SaleVoided and ShiftClosed for every completed sale, completed refund, void and closed
shift, built from the rows (the stored receipt, refund slip and Z report; a sale's line costs
from sale_lines) with the same contracts the live path publishes. For rebuilding a read model when the outbox that
`GET /api/sales/events` serves has been pruned (reports' rebuild: docs/reports.md).

- The event ids are stable (a UUID 5 of the type and the business id): the same sale
  gives the same envelope every time, so a replay that is interrupted and run again, or
  two pages read twice, count once. They differ from the ids the live path published;
  consumers that deduplicate by sale / refund / shift id (reports do) count each once
  even next to the original, but use this feed *instead of* `/api/sales/events`, not as
  well (a void has no business id to deduplicate by).
- Oldest first by the rows' creation (closing for shifts), a sale before its refunds;
  `occurred_at` is the moment the event describes (completed_at, refunded_at, ...).

    GET /api/sales/history?after=<cursor>&limit=<n>     (admin; same shape as /events)
    python -m pos_sales.history --database-url URL > sales-history.jsonl
"""

from __future__ import annotations

import argparse
import heapq
import json
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from pos_contracts import Envelope
from pos_contracts.events import (
    Event,
    SaleVoided,
)
from pos_platform.app import service_context
from pos_platform.auth import Admin
from pos_sales import events
from pos_sales.config import Settings
from pos_sales.responses import EventHistory
from pos_sales.tables import refunds, sale_lines, sales, shifts

PRODUCER = "sales"
# Namespace of the regenerated event ids (never change it: the ids must stay the same).
NAMESPACE = uuid.UUID("5b0f7e0c-8d0a-4c1e-9a57-3f6c2f1d7a41")


def stable_event_id(type_: str, business_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{type_}:{business_id}"))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _parse(text: str | None, fallback: datetime) -> datetime:
    if text:
        try:
            return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            pass
    return _aware(fallback)


def _envelope(event: Event, business_id: str, outlet_id: str, occurred_at: datetime) -> Envelope:
    return Envelope(
        event_id=stable_event_id(event.TYPE, business_id),
        type=event.TYPE,
        version=event.VERSION,
        occurred_at=occurred_at,
        producer=PRODUCER,
        outlet_id=outlet_id,
        payload=event.model_dump(mode="json"),
    )


# --- one event per row ------------------------------------------------------------------


def sale_completed(row: Any, costs: Mapping[int, int | None] | None = None) -> Envelope:
    """As Checkout._complete publishes it, from the stored receipt (the answer) and its
    lines' costs (sale_lines.unit_cost_minor, by line_no)."""
    receipt = json.loads(row.answer)
    event = events.sale_completed(row, receipt, costs)
    return _envelope(event, row.id, row.outlet_id, _parse(receipt["completed_at"], row.completed_at or row.created_at))


def sale_refunded(row: Any) -> Envelope:
    """As RefundDesk._complete publishes it, from the stored slip."""
    slip = json.loads(row.answer)
    event = events.sale_refunded(row, slip)
    return _envelope(event, row.id, row.outlet_id, _parse(slip["refunded_at"], row.completed_at or row.created_at))


def sale_voided(row: Any) -> Envelope:
    answer = json.loads(row.answer)
    event = SaleVoided(
        sale_id=row.id,
        outlet_id=row.outlet_id,
        cashier_id=row.cashier_id,
        approved_by=row.approved_by,
        voided_at=answer["voided_at"],
        register_id=row.register_id,
    )
    return _envelope(event, row.id, row.outlet_id, _parse(answer["voided_at"], row.created_at))


def shift_closed(row: Any) -> Envelope:
    """As shifts.close publishes it, from the stored Z report."""
    report = json.loads(row.z_report)
    event = events.shift_closed(
        row,
        report,
        shift_id=row.id,
        cashier_id=row.closed_by,
        expected_minor=row.expected_cash_minor,
        counted_minor=row.counted_cash_minor,
        over_short_minor=row.over_short_minor,
    )
    return _envelope(event, row.id, row.outlet_id, _parse(report["closed_at"], row.closed_at))


# --- the feed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    rank: int  # order of kinds within the same second: a sale before its refund
    table: Any
    moment: Any  # the column the feed is ordered by
    where: Any
    build: Any


KINDS = (
    Kind(0, sales, sales.c.created_at, sales.c.status == "COMPLETED", sale_completed),
    Kind(1, refunds, refunds.c.created_at, refunds.c.status == "COMPLETED", sale_refunded),
    Kind(2, sales, sales.c.created_at, sales.c.status == "VOIDED", sale_voided),
    Kind(3, shifts, shifts.c.closed_at, shifts.c.status == "closed", shift_closed),
)


def _cursor(text: str | None) -> tuple[datetime, int, str] | None:
    """`<moment ISO>|<rank>|<id>`; None: from the start."""
    if not text:
        return None
    try:
        moment, rank, row_id = text.split("|", 2)
        return datetime.fromisoformat(moment), int(rank), row_id
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "type": "value_error",
                    "loc": ["query", "after"],
                    "msg": "after is the next_after of the previous page: start again without it",
                    "input": text,
                }
            ],
        ) from None


def _after(kind: Kind, cursor: tuple[datetime, int, str] | None) -> ColumnElement[bool]:
    if cursor is None:
        return kind.where
    moment, rank, row_id = cursor
    if kind.rank > rank:
        later = kind.moment >= moment
    elif kind.rank < rank:
        later = kind.moment > moment
    else:
        later = or_(kind.moment > moment, and_(kind.moment == moment, kind.table.c.id > row_id))
    return and_(kind.where, later)


def _line_costs(session: Session, sale_ids: list[str]) -> dict[str, dict[int, int | None]]:
    """The line costs of a page's completed sales, by sale and line_no (one statement)."""
    found: dict[str, dict[int, int | None]] = defaultdict(dict)
    if sale_ids:
        rows = session.execute(
            select(sale_lines.c.sale_id, sale_lines.c.line_no, sale_lines.c.unit_cost_minor).where(
                sale_lines.c.sale_id.in_(sale_ids), sale_lines.c.unit_cost_minor.is_not(None)
            )
        )
        for sale_id, line_no, cost in rows:
            found[sale_id][line_no] = cost
    return found


def page(session: Session, after: str | None, limit: int) -> dict[str, Any]:
    """Up to `limit` regenerated envelopes after the cursor, oldest first."""
    cursor = _cursor(after)
    candidates: list[tuple[datetime, int, str, Any, Kind]] = []
    for kind in KINDS:
        rows = session.execute(
            select(kind.table).where(_after(kind, cursor)).order_by(kind.moment, kind.table.c.id).limit(limit)
        ).all()
        candidates.extend((row._mapping[kind.moment.name], kind.rank, row.id, row, kind) for row in rows)
    chosen = heapq.nsmallest(limit, candidates, key=lambda c: (c[0], c[1], c[2]))
    costs = _line_costs(session, [row.id for *_, row, kind in chosen if kind.build is sale_completed])
    total = sum(session.scalar(select(func.count()).select_from(kind.table).where(kind.where)) or 0 for kind in KINDS)
    next_after = None
    if len(chosen) == limit:  # maybe more (an empty last page ends it)
        moment, rank, row_id = chosen[-1][:3]
        next_after = f"{moment.isoformat()}|{rank}|{row_id}"
    return {
        "events": [
            (sale_completed(row, costs.get(row.id)) if kind.build is sale_completed else kind.build(row)).model_dump(mode="json")
            for *_, row, kind in chosen
        ],
        "next_after": next_after,
        "total": total,
    }


def every_envelope(session: Session, page_size: int = 1000) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        body = page(session, after, page_size)
        yield from body["events"]
        after = body["next_after"]
        if after is None or not body["events"]:
            return


router = APIRouter(prefix="/api/sales", tags=["operations"])


@router.get(
    "/history",
    # Documented, not a response_model: the envelopes are answered as built (ADR 0065).
    responses={200: {"model": EventHistory, "description": "a page of regenerated events, oldest first"}},
)
def history(
    _admin: Admin,
    request: Request,
    after: str | None = Query(default=None, max_length=120, description="cursor: next_after of the previous page"),
    limit: int = Query(default=1000, ge=1, le=5000),
) -> JSONResponse:
    """Sales' events regenerated from its sales, refunds, voids and closed shifts (stable
    event ids), oldest first: `{"events", "next_after", "total"}` like `/api/sales/events`,
    for a rebuild when the outbox behind that feed has been pruned."""
    ctx = service_context(request, Settings)
    with ctx.db.transaction() as uow:
        return JSONResponse(page(uow.session, after, limit))


def main(argv: list[str] | None = None) -> int:
    from pos_platform.db import Database
    from pos_sales.tables import metadata

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="sales' database; default: POS_DATABASE_URL, as the service uses")
    parser.add_argument("--out", default="-", help="JSON lines file (default: standard output)")
    args = parser.parse_args(argv)
    db = Database(args.database_url or Settings().database_url_for("sales"), metadata, "sales")
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    count = 0
    with db.transaction() as uow, out:
        for envelope in every_envelope(uow.session):
            out.write(json.dumps(envelope, separators=(",", ":")) + "\n")
            count += 1
    print(f"{count} events", file=sys.stderr)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
