"""Receipts, refund slips and Z-reports as printable documents.

Each document is laid out once, as a list of rows, and rendered two ways: plain text
for a 42-column receipt printer (80 mm paper, font A), and HTML sized for 80 mm paper
(the browser's print dialog). Everything shown is escaped; money is formatted from
integer minor units with the currency's exponent, never through a float.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from typing import Any

from pos_platform.currencies import currencies

WIDTH = 42  # characters per line on an 80 mm printer (font A)

# ISO 4217 minor-unit exponents that are not 2.
EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "CLP": 0,
    "VND": 0,
    "UGX": 0,
    "XAF": 0,
    "XOF": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
    "IQD": 3,
    "LYD": 3,
}


def money(minor: int, currency: str) -> str:
    """12345 EUR -> '123.45'; -5 -> '-0.05'; 500 JPY -> '500'."""
    known = currencies().get(currency.upper())
    exponent = known.minor_units if known else EXPONENTS.get(currency.upper(), 2)
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 10**exponent)
    return f"{sign}{units:,}" + (f".{cents:0{exponent}d}" if exponent else "")


def rate(bp: int) -> str:
    """2000 -> '20%', 550 -> '5.5%'."""
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


@dataclass(frozen=True)
class Row:
    kind: str  # center | pair | total | rule | text | title
    left: str = ""
    right: str = ""


def render_text(rows: list[Row]) -> str:
    out: list[str] = []
    for row in rows:
        if row.kind == "rule":
            out.append("-" * WIDTH)
        elif row.kind in ("center", "title"):
            out.extend(line.center(WIDTH).rstrip() for line in textwrap.wrap(row.left, WIDTH) or [""])
        elif row.kind == "text":
            out.extend(textwrap.wrap(row.left, WIDTH) or [""])
        else:
            right = row.right
            room = max(WIDTH - len(right) - 1, 1)
            left = row.left if len(row.left) <= room else row.left[: room - 1] + "~"
            out.append(f"{left:<{room}} {right}" if right else left)
    return "\n".join(out) + "\n"


HTML_STYLE = """
@page { size: 80mm auto; margin: 3mm; }
html, body { margin: 0; padding: 0; background: #fff; color: #000; }
body { width: 74mm; font: 11.5px/1.35 "DejaVu Sans Mono", "Courier New", monospace; }
.row { display: flex; justify-content: space-between; gap: 2mm; }
.row span:first-child { overflow-wrap: anywhere; }
.row span:last-child { white-space: nowrap; text-align: right; }
.center, .title { text-align: center; }
.title { font-weight: bold; font-size: 13px; margin: 1mm 0; }
.total { font-weight: bold; font-size: 13.5px; }
hr { border: 0; border-top: 1px dashed #000; margin: 1.5mm 0; }
@media screen { body { margin: 8px auto; padding: 4mm; box-shadow: 0 0 4px #999; } }
"""


def render_html(rows: list[Row], title: str) -> str:
    parts = []
    for row in rows:
        if row.kind == "rule":
            parts.append("<hr>")
        elif row.kind in ("center", "title", "text"):
            parts.append(f'<div class="{row.kind}">{html.escape(row.left)}</div>')
        else:
            cls = "row total" if row.kind == "total" else "row"
            parts.append(f'<div class="{cls}"><span>{html.escape(row.left)}</span><span>{html.escape(row.right)}</span></div>')
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )


def _stamp(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def tax_codes(bands: list[dict[str, Any]]) -> dict[int, str]:
    """Letters for tax rates, as receipts print them next to each line (A, B, ...)."""
    return {band["rate_bp"]: chr(ord("A") + i) for i, band in enumerate(bands)}


def shop_name(document: dict[str, Any], outlet_name: str = "") -> str:
    """The shop's name as the receipt prints it (the outlet's name when it set none)."""
    return (document.get("shop") or {}).get("name") or outlet_name


def shop_rows(document: dict[str, Any], outlet_name: str = "") -> list[Row]:
    """The top of a receipt or refund slip: the shop's name (the outlet's name when the
    outlet set none), address and tax number, as stamped on the document at the sale,
    then the outlet's header lines."""
    shop = document.get("shop") or {}
    rows = []
    name = shop_name(document, outlet_name)
    if name:
        rows.append(Row("title", name))
    rows += [Row("center", line) for line in shop.get("address", [])]
    if shop.get("tax_number"):
        rows.append(Row("center", f"VAT/tax no. {shop['tax_number']}"))
    rows += [Row("center", line) for line in document.get("header", [])]
    return rows


def receipt_rows(receipt: dict[str, Any], *, copy: int = 0, outlet_name: str = "") -> list[Row]:
    """The receipt's rows. No internal id is printed: the receipt number names the sale."""
    cur = receipt["currency"]
    codes = tax_codes(receipt.get("tax", []))
    rows = shop_rows(receipt, outlet_name)
    rows.append(Row("title", "RECEIPT"))
    if copy:
        rows.append(Row("center", f"*** COPY {copy} - NOT A NEW SALE ***"))
    if receipt.get("offline"):
        rows.append(Row("center", "TAKEN OFFLINE"))
    rows += [
        Row("pair", f"No. {receipt.get('receipt_number') or '-'}", _stamp(receipt.get("completed_at"))),
        Row("pair", f"Register {_register(receipt)}", receipt.get("cashier_name") or receipt.get("cashier_id", "")),
        Row("rule"),
    ]
    for line in receipt["lines"]:
        rows.append(Row("text", line["name"]))
        code = codes.get(line["tax_rate_bp"], "")
        gross = line.get("gross_minor", line["unit_price_minor"] * line["qty"])
        rows.append(
            Row("pair", f"  {line['qty']} x {money(line['unit_price_minor'], cur)}", f"{money(gross, cur)} {code}".rstrip())
        )
        if line.get("discount_minor"):
            rows.append(Row("pair", "  discount", money(-line["discount_minor"], cur)))
    rows.append(Row("rule"))
    if receipt.get("discount_minor"):
        rows.append(Row("pair", "Before discounts", money(receipt.get("gross_minor", 0), cur)))
        rows.append(Row("pair", "Discounts", money(-receipt["discount_minor"], cur)))
    rows.append(Row("total", f"TOTAL {cur}", money(receipt["total_minor"], cur)))
    if receipt.get("rounding_minor"):
        rows.append(Row("pair", "Cash rounding", money(receipt["rounding_minor"], cur)))
        rows.append(Row("total", f"TO PAY {cur}", money(receipt["total_minor"] + receipt["rounding_minor"], cur)))
    for tender in receipt.get("tenders", []):
        if tender["kind"] == "foreign_cash":
            fcur = tender["currency"]
            rows.append(Row("pair", f"Cash {fcur}", f"{money(tender['foreign_minor'], fcur)} {fcur}"))
            rows.append(Row("pair", f"  due {money(tender['due_foreign_minor'], fcur)} {fcur}", ""))
            rows.append(
                Row("pair", f"  1 {cur} = {tender['rate']} {fcur}", f"{tender['rate_source']} {tender['rate_as_of'][:10]}")
            )
            rows.append(Row("pair", f"  pays {cur}", money(tender["amount_minor"], cur)))
            if tender.get("change_minor"):
                rows.append(Row("pair", f"  change {cur}", money(tender["change_minor"], cur)))
            continue
        rows.append(Row("pair", tender["kind"].capitalize(), money(tender["tendered_minor"], cur)))
        if tender.get("capture") == "deferred":
            rows.append(Row("text", "  Card payment pending capture"))
    if receipt.get("change_minor"):
        rows.append(Row("total", "Change", money(receipt["change_minor"], cur)))
    rows.append(Row("rule"))
    rows.append(Row("pair", f"{'Tax':<3}{'rate':>8} {'net':>10}", "tax"))
    for band in receipt.get("tax", []):
        label = f"{codes[band['rate_bp']]:<3}{rate(band['rate_bp']):>8} {money(band['net_minor'], cur):>10}"
        rows.append(Row("pair", label, money(band["tax_minor"], cur)))
    rows.append(Row("pair", f"Items {receipt.get('items', 0)}", f"tax total {money(receipt['tax_minor'], cur)}"))
    rows.append(Row("pair", "Prices include tax" if receipt.get("prices_include_tax", True) else "Tax added to prices", ""))
    for place in receipt.get("tax_jurisdictions") or []:  # taxed by the external API (ADR 0064)
        rows.append(Row("pair", f"  {place['name']} {place['rate']}%", money(place["tax_minor"], cur)))
    if receipt.get("tax_estimated"):
        # The API did not answer in time: the outlet's table was used. Printed as it was.
        rows.append(Row("center", "TAX ESTIMATED (tax service unavailable)"))
    footer = receipt.get("footer", [])
    if footer:
        rows.append(Row("rule"))
        rows += [Row("center", line) for line in footer]
    return rows


def refund_rows(refund: dict[str, Any], *, outlet_name: str = "") -> list[Row]:
    cur = refund["currency"]
    rows = shop_rows(refund, outlet_name)
    rows += [
        Row("title", "REFUND"),
        Row("pair", f"For receipt {refund.get('receipt_number') or '-'}", _stamp(refund.get("refunded_at"))),
        Row("pair", f"Approved by {refund.get('approved_by', '')[:12]}", refund.get("cashier_name") or ""),
        Row("rule"),
    ]
    for line in refund["lines"]:
        rows.append(Row("text", line.get("name") or line["product_id"]))
        rows.append(
            Row(
                "pair",
                f"  {line['qty']} returned{'' if line['restock'] else ' (not restocked)'}",
                money(-line["total_minor"], cur),
            )
        )
    rows.append(Row("rule"))
    rows.append(Row("total", f"REFUND {cur}", money(-refund["total_minor"], cur)))
    if refund.get("rounding_minor"):
        rows.append(Row("pair", "Cash rounding", money(-refund["rounding_minor"], cur)))
    for tender in refund.get("tenders", []):
        rows.append(Row("pair", f"To {tender['kind']}", money(tender["amount_minor"], cur)))
    rows.append(Row("pair", "of which tax", money(refund["tax_minor"], cur)))
    rows.append(Row("text", f"Reason: {refund.get('reason', '')}"))
    return rows


def z_report_rows(z: dict[str, Any]) -> list[Row]:
    cur = z["currency"]
    rows = [
        Row("title", "Z REPORT"),
        Row("pair", f"Register {z['register_id']}", f"shift {z['shift_id'][:8]}"),
        Row("pair", "Opened", _stamp(z["opened_at"])),
        Row("pair", "Closed", _stamp(z.get("closed_at"))),
        Row("rule"),
        Row("pair", f"Sales ({z['sales']['count']})", money(z["sales"]["total_minor"], cur)),
        Row("pair", "  before discounts", money(z["sales"]["gross_minor"], cur)),
        Row("pair", "  discounts", money(-z["sales"]["discount_minor"], cur)),
        Row("pair", "  tax", money(z["sales"]["tax_minor"], cur)),
        Row("pair", "  cash rounding", money(z["sales"]["rounding_minor"], cur)),
        Row("pair", f"Refunds ({z['refunds']['count']})", money(-z["refunds"]["total_minor"], cur)),
        Row("pair", "  tax", money(-z["refunds"]["tax_minor"], cur)),
        Row("pair", f"Voided carts ({z['voids']['count']})", ""),
        Row("total", "NET", money(z["net_minor"], cur)),
        Row("rule"),
        Row("text", "By tender (taken / given back)"),
    ]
    for kind, amounts in sorted(z["tenders"].items()):
        rows.append(Row("pair", f"  {kind}", f"{money(amounts['taken_minor'], cur)} / {money(-amounts['refunded_minor'], cur)}"))
    rows.append(Row("text", "Tax by rate (sales - refunds)"))
    for band in z["tax"]:
        rows.append(Row("pair", f"  {rate(band['rate_bp'])} on {money(band['net_minor'], cur)}", money(band["tax_minor"], cur)))
    cash = z["cash"]
    rows += [
        Row("rule"),
        Row("pair", "Opening float", money(cash["opening_float_minor"], cur)),
        Row("pair", "Cash sales", money(cash["sales_minor"], cur)),
        Row("pair", "Cash refunds", money(-cash["refunds_minor"], cur)),
        Row("pair", "Cash in", money(cash["in_minor"], cur)),
        Row("pair", "Cash out", money(-cash["out_minor"], cur)),
        *(
            [Row("pair", "Change for foreign cash", money(-cash["foreign_change_minor"], cur))]
            if cash.get("foreign_change_minor")
            else []
        ),
        Row("total", "Expected in drawer", money(cash["expected_minor"], cur)),
    ]
    for entry in z.get("foreign_cash", []):
        fcur = entry["currency"]
        rows.append(
            Row("total", f"Expected {fcur} ({entry['tenders']} tenders)", f"{money(entry['expected_minor'], fcur)} {fcur}")
        )
    if cash.get("counted_minor") is not None:
        rows.append(Row("total", "Counted", money(cash["counted_minor"], cur)))
        over_short = cash["over_short_minor"]
        rows.append(Row("total", "Over" if over_short > 0 else "Short" if over_short < 0 else "Balanced", money(over_short, cur)))
    # Cash control per foreign currency (ADR 0063): the drawer in each, counted or not.
    for entry in z.get("cash_by_currency") or []:
        if entry.get("own"):
            continue
        fcur = entry["currency"]
        rows += [
            Row("rule"),
            Row("text", f"{fcur} drawer"),
            Row("pair", "Opening float", f"{money(entry['opening_float_minor'], fcur)} {fcur}"),
            Row("pair", "Cash sales", f"{money(entry['sales_minor'], fcur)} {fcur}"),
            Row("pair", "Cash in", f"{money(entry['in_minor'], fcur)} {fcur}"),
            Row("pair", "Cash out", f"{money(-entry['out_minor'], fcur)} {fcur}"),
            Row("total", "Expected", f"{money(entry['expected_minor'], fcur)} {fcur}"),
        ]
        if entry.get("counted_minor") is None:
            if z.get("closed_at"):
                rows.append(Row("pair", "Counted", "not counted"))
            continue
        over_short = entry["over_short_minor"]
        word = "Over" if over_short > 0 else "Short" if over_short < 0 else "Balanced"
        rows += [
            Row("total", "Counted", f"{money(entry['counted_minor'], fcur)} {fcur}"),
            Row("total", word, f"{money(over_short, fcur)} {fcur}"),
        ]
        converted = entry.get("converted")
        if converted:
            rows += [
                Row("pair", "", f"= {money(converted['over_short_minor'], cur)} {cur} converted"),
                Row("text", f"at 1 {cur} = {converted['rate']} {fcur}"),
                Row("text", f"({converted['rate_source']} {converted['rate_as_of']}, {converted['rate_basis']} rate)"),
            ]
        elif entry.get("converted_detail"):
            rows.append(Row("text", entry["converted_detail"]))
    return rows


def _register(receipt: dict[str, Any]) -> str:
    """The register as the shop knows it: its number and name (older receipts: its id)."""
    if receipt.get("register_number") is not None:
        name = receipt.get("register_name")
        return f"{receipt['register_number']}" + (f" {name}" if name else "")
    return receipt.get("register_id") or "-"


# `responses=` of a route answering a receipt or Z-report as JSON, or with `format=text`
# or `format=html` as printer text or an 80 mm HTML page: all three are in the document.
PRINTABLE_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the document: JSON (format=json, the default), printer text (format=text) or an 80 mm HTML page (format=html)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/plain": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}
