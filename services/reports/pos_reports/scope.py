"""Who and what a report covers: the outlets the caller may see (or asked for), the days
of the range, and the query parameters every report shares."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import HTTPException, Query, Request, status
from sqlalchemy import select

from pos_platform.auth import Principal, ensure_outlet
from pos_platform.db import utcnow
from pos_reports.queries import session
from pos_reports.tables import outlets

DEFAULT_DAYS = 30
MAX_DAYS = 366

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

Span = tuple[date, date]


def unprocessable(field: str, message: str, value: object) -> HTTPException:
    """A 422 in the documented shape, FastAPI's validation errors: a list of {loc, msg,
    type, input}, the message saying what to change."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"type": "value_error", "loc": ["query", field], "msg": message, "input": value}],
    )


def date_range(date_from: date | None, date_to: date | None) -> Span:
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
    with session(request) as s:
        return sorted(s.scalars(select(outlets.c.outlet_id)))


def days_and_outlets(
    request: Request, principal: Principal, outlet_ids: list[str] | None, date_from: date | None, date_to: date | None
) -> tuple[Span, list[str]]:
    """What most reports start with: the range (checked first), then the outlets as a list."""
    span = date_range(date_from, date_to)
    return span, every_outlet(request, visible_outlets(principal, outlet_ids))
