"""How every report answers: its JSON, or (format=csv) a download of its rows, written
the same way for every report by `answer`."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from pos_platform.currencies import currency as currency_info
from pos_platform.db import utcnow
from pos_reports.queries import outlet_names, register_names

# The second answer each report documents besides its JSON model.
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}
}

MINOR = "_minor"
# Columns written as people read them, not as stored: an outlet by name, a register by its short code.
KINDS = {"outlet_id": "outlet", "register_id": "register"}


@dataclass(frozen=True)
class Csv:
    """A report's download: the file's name (the range, or today, is appended), its
    columns (row fields, in order) and any column renamed (e.g. the outlet report's
    "name" -> "outlet")."""

    name: str
    span: tuple[date, date] | None
    columns: Sequence[str]
    headers: Mapping[str, str] = field(default_factory=dict)
    # An amount in another currency than the row's: the column naming its currency
    # (the tender-currency report's taken_minor is in tender_currency).
    currency_of: Mapping[str, str] = field(default_factory=dict)


def columns(model: type[BaseModel], first: Sequence[str], skip: Sequence[str] = ()) -> list[str]:
    """CSV columns: the row's dimensions first, then its figures."""
    return [*first, *(f for f in model.model_fields if f not in first and f not in skip)]


def answer(
    request: Request,
    fmt: str,
    download: Csv,
    rows: Sequence[BaseModel] | Sequence[Mapping[str, Any]],
    report: Callable[[], BaseModel],
) -> Response:
    """The report as JSON (`report()`), or its rows as the CSV `download`."""
    if fmt == "csv":
        return csv_response(request, download, rows)
    return json_response(report())


def json_response(report: BaseModel) -> Response:
    """The report as JSON, serialised once by pydantic (not validated again)."""
    return Response(report.model_dump_json(), media_type="application/json")


def cell(value: object) -> object:
    # A text cell starting like a formula is run by spreadsheets: make it plain text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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


def register_code(register_id: str) -> str:
    """A register as a CSV shows it when identity has not announced its name
    (RegisterChanged): a register made in the office (a UUID) is the first 8 characters
    of its id, as the office app shows a register it has no name for; an id typed by
    people ("till-1") is shown as typed; "" (no register) stays empty."""
    if len(register_id) == 36:
        try:
            uuid.UUID(register_id)
        except ValueError:
            return register_id
        return register_id[:8]
    return register_id


def csv_response(request: Request, download: Csv, rows: Sequence[BaseModel] | Sequence[Mapping[str, Any]]) -> Response:
    """The rows as CSV, written for people and spreadsheets, not as the JSON is: an
    amount (a *_minor field) is a decimal in the row's currency (the `currency` column)
    under its name without _minor ("gross": "12.50"); an outlet is its name (column
    "outlet", from the replica), never its id; a register its name (column "register",
    from the replica; its short code, `register_code`, when not announced). Text cells go through `cell`; None is an
    empty cell. Rows are models or plain records (a row model's fields as a dict: no
    model per row for a big download)."""
    records: list[Mapping[str, Any]] = [r.__dict__ if isinstance(r, BaseModel) else r for r in rows]
    fields = download.columns
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    renames = {"outlet_id": "outlet", "outlet_name": "outlet", "register_id": "register", **download.headers}
    writer.writerow([renames.get(f, f[: -len(MINOR)] if f.endswith(MINOR) else f) for f in fields])
    names = outlet_names(request, (r["outlet_id"] for r in records)) if "outlet_id" in fields else {}
    tills = register_names(request, (r["register_id"] for r in records)) if "register_id" in fields else {}
    kinds = [KINDS.get(f, "money" if f.endswith(MINOR) else "cell") for f in fields]
    plan = list(zip(fields, kinds, strict=True))
    for record in records:
        currency = record.get("currency") or ""
        row: list[object] = []
        for name, kind in plan:
            value = record[name]
            if value is None:
                row.append(None)
            elif kind == "money":
                row.append(
                    decimal_amount(
                        value, record.get(download.currency_of[name]) or "" if name in download.currency_of else currency
                    )
                )
            elif kind == "outlet":
                row.append(cell(names.get(value, value)))
            elif kind == "register":
                row.append(cell(tills.get(value) or register_code(value)))
            else:
                row.append(cell(value) if isinstance(value, str) else value)
        writer.writerow(row)
    span = download.span
    suffix = f"_{span[0].isoformat()}_{span[1].isoformat()}" if span else f"_{utcnow().date().isoformat()}"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{download.name}{suffix}.csv"'},
    )
