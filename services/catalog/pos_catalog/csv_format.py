"""The product CSV file: what import accepts and export writes. Plain Python, no I/O.

One product per row, a header row naming the columns (any order). `sku`, `name` and
`price_minor` are required; a column left out of the file leaves that field of existing
products as it is (and gives new ones the default).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pos_catalog.domain import barcode_problem
from pos_catalog.schemas import TAX_CLASS_PATTERN, UNITS

COLUMNS = ("sku", "name", "description", "barcodes", "category", "price_minor", "cost_minor", "tax_class", "unit", "active")
REQUIRED = ("sku", "name", "price_minor")
BARCODE_SEPARATOR = "|"
CATEGORY_SEPARATOR = ">"
MAX_ROWS = 500_000
MAX_ERRORS_KEPT = 1000
_TRUE = {"true", "1", "yes", "y", "active"}
_FALSE = {"false", "0", "no", "n", "archived"}
_SKU_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


@dataclass(frozen=True)
class RowError:
    row: int  # line of the file; the header is row 1
    column: str
    message: str


@dataclass
class ProductRow:
    """One valid row; None means "column not in the file" (keep / default)."""

    row: int
    sku: str
    name: str
    price_minor: int
    description: str | None = None
    barcodes: list[str] | None = None
    category: list[str] | None = None  # path from the root; [] = no category
    cost_minor: int | None = None
    tax_class: str | None = None
    unit: str | None = None
    active: bool | None = None


class Errors:
    """Collects row errors; keeps the first MAX_ERRORS_KEPT, counts them all."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, row: int, column: str, message: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_ERRORS_KEPT:
            self.kept.append(RowError(row, column, message))

    def __bool__(self) -> bool:
        return self.count > 0


def decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM spreadsheets write)."""
    return data.decode("utf-8-sig")


def _dialect(first_line: str) -> str:
    # Spreadsheets in many locales write ';' (',' is their decimal separator).
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _int(value: str, column: str, row: int, errors: Errors) -> int | None:
    text = value.strip()
    if not text:
        errors.add(row, column, f"{column} is empty")
        return None
    if not text.lstrip("-").isdigit():
        hint = f": minor units, e.g. {text.replace('.', '').replace(',', '')} for {text}" if any(c in text for c in ".,") else ""
        errors.add(row, column, f"{column} must be a whole number{hint}")
        return None
    number = int(text)
    if not 0 <= number <= 10**12:
        errors.add(row, column, f"{column} must be between 0 and 1000000000000")
        return None
    return number


def parse(data: bytes) -> tuple[list[ProductRow], Errors, int]:
    """Every valid row, every error (by row and column) and the number of data rows.
    Checks the file on its own; `imports` checks it against the database."""
    errors = Errors()
    try:
        text = decode(data)
    except UnicodeDecodeError as exc:
        errors.add(0, "", f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8")
        return [], errors, 0
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(first_line))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        errors.add(1, "", "the file is empty: the first row must name the columns")
        return [], errors, 0
    unknown = [h for h in header if h not in COLUMNS]
    for name in unknown:
        errors.add(1, name, f"unknown column {name!r}; the columns are: {', '.join(COLUMNS)}")
    for name in REQUIRED:
        if name not in header:
            errors.add(1, name, f"required column {name!r} is missing")
    for name in {h for h in header if header.count(h) > 1}:
        errors.add(1, name, f"column {name!r} appears twice")
    if errors:
        return [], errors, 0
    index = {name: header.index(name) for name in header}
    rows: list[ProductRow] = []
    skus: dict[str, int] = {}
    codes: dict[str, int] = {}
    total = 0
    for line_no, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue  # blank line
        total += 1
        if total > MAX_ROWS:
            errors.add(line_no, "", f"more than {MAX_ROWS} rows: split the file")
            break
        if len(fields) != len(header):
            errors.add(line_no, "", f"has {len(fields)} fields, the header has {len(header)}")
            continue
        row = _parse_row(line_no, {name: fields[i] for name, i in index.items()}, errors)
        if row is None:
            continue
        key = row.sku.casefold()
        if key in skus:
            errors.add(line_no, "sku", f"SKU {row.sku!r} is already on row {skus[key]}")
            continue
        skus[key] = line_no
        for code in row.barcodes or []:
            if code in codes:
                errors.add(line_no, "barcodes", f"barcode {code} is already on row {codes[code]}")
            else:
                codes[code] = line_no
        rows.append(row)
    return rows, errors, total


def _parse_row(line_no: int, values: dict[str, str], errors: Errors) -> ProductRow | None:
    before = errors.count
    sku = values["sku"].strip()
    if not sku:
        errors.add(line_no, "sku", "sku is empty")
    elif len(sku) > 64 or not set(sku) <= _SKU_CHARS:
        errors.add(line_no, "sku", "sku must be 1-64 letters, digits, '.', '_' or '-'")
    name = values["name"].strip()
    if not name:
        errors.add(line_no, "name", "name is empty")
    elif len(name) > 200:
        errors.add(line_no, "name", "name is longer than 200 characters")
    price = _int(values["price_minor"], "price_minor", line_no, errors)
    row = ProductRow(row=line_no, sku=sku, name=name, price_minor=price or 0)
    if "description" in values:
        row.description = values["description"].strip()
        if len(row.description) > 4000:
            errors.add(line_no, "description", "description is longer than 4000 characters")
    if "barcodes" in values:
        row.barcodes = [
            c.strip() for c in values["barcodes"].replace(";", BARCODE_SEPARATOR).split(BARCODE_SEPARATOR) if c.strip()
        ]
        for code in row.barcodes:
            problem = barcode_problem(code)
            if problem:
                errors.add(line_no, "barcodes", problem)
        if len(set(row.barcodes)) != len(row.barcodes):
            errors.add(line_no, "barcodes", "the same barcode is listed twice")
        if len(row.barcodes) > 20:
            errors.add(line_no, "barcodes", "at most 20 barcodes per product")
    if "category" in values:
        row.category = [part.strip() for part in values["category"].split(CATEGORY_SEPARATOR) if part.strip()]
        if any(len(part) > 200 for part in row.category):
            errors.add(line_no, "category", "a category name is longer than 200 characters")
    if "cost_minor" in values:
        row.cost_minor = _int(values["cost_minor"], "cost_minor", line_no, errors) if values["cost_minor"].strip() else 0
    if "tax_class" in values:
        tax = values["tax_class"].strip().lower() or "standard"
        if not re.match(TAX_CLASS_PATTERN, tax):
            errors.add(
                line_no,
                "tax_class",
                f"tax_class {tax!r} is not a tax class name: lower-case letters, digits, - and _, up to 32"
                " (standard, reduced, zero, or a class added on the Tax page)",
            )
        row.tax_class = tax
    if "unit" in values:
        unit = values["unit"].strip().lower() or "each"
        if unit not in UNITS:
            errors.add(line_no, "unit", f"unit {unit!r} is not one of {', '.join(UNITS)}")
        row.unit = unit
    if "active" in values:
        flag = values["active"].strip().lower()
        if flag in _TRUE or not flag:
            row.active = True
        elif flag in _FALSE:
            row.active = False
        else:
            errors.add(line_no, "active", f"active must be true or false, not {values['active']!r}")
    return row if errors.count == before else None


def export_lines(rows: Iterator[dict[str, str]]) -> Iterator[str]:
    """CSV text, a line at a time (header first): what import reads back unchanged."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue()
