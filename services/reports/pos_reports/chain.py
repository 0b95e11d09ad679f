"""The chain total of a report that holds several currencies: each currency's totals
converted into the chain's base currency (POS_CHAIN_CURRENCY) at payments' rates, and
labelled as converted with the rates' source and date (ADR 0072).

The per-currency totals stay the figures of record; the chain total is an indication
computed when the report is read. Rates come from payments (`GET
/api/payments/rates?base=<chain currency>`, with the caller's own token: any manager may
read rates), kept for POS_REPORTS_RATES_CACHE_SECONDS. No rate, or payments not
answering, never fails a report: the chain total is then absent and `detail` says why.

Arithmetic: exact fractions (pos_platform.conversion), one rounding per converted sum
(nearest minor unit of the chain currency, ties to even). Only gross, tax, refunds and
refund tax are converted; net and net after refunds are derived from them, so the
converted figures add up the way the per-currency ones do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
from fastapi import Request

from pos_platform.app import service_context
from pos_platform.conversion import exact_conversion, parse_rate, round_fraction
from pos_reports.config import Settings
from pos_reports.schemas import ChainTotal, ConvertedCurrency, SalesFigures

log = logging.getLogger("pos.reports.chain")

CONVERTED = ("gross_minor", "tax_minor", "refund_minor", "refund_tax_minor")


@dataclass(frozen=True)
class SheetRate:
    """Units of `currency` per unit of the chain currency, as payments gives it."""

    currency: str
    rate: Decimal
    source: str
    reference_date: date | None
    age_days: int | None
    stale: bool


@dataclass(frozen=True)
class Sheet:
    base: str
    rates: dict[str, SheetRate]
    problem: str | None = None  # payments did not answer, or answered something unusable


class RatesReader:
    """Reads payments' rates for the chain currency, with a short cache. One per app;
    `transport` lets tests put the real payments app (in process) behind it."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport
        self._lock = threading.Lock()
        self._cached: tuple[float, Sheet] | None = None

    def sheet(self, authorization: str | None) -> Sheet:
        ttl = self.settings.reports_rates_cache_seconds
        with self._lock:
            if self._cached is not None and ttl > 0 and time.monotonic() - self._cached[0] < ttl:
                return self._cached[1]
        sheet = self._fetch(authorization)
        if sheet.problem is None:
            with self._lock:
                self._cached = (time.monotonic(), sheet)
        return sheet

    def _fetch(self, authorization: str | None) -> Sheet:
        base = self.settings.chain_currency
        url = f"{self.settings.payments_url.rstrip('/')}/api/payments/rates"
        headers = {"Authorization": authorization} if authorization else {}
        try:
            with httpx.Client(transport=self.transport, timeout=self.settings.reports_rates_timeout_seconds) as client:
                response = client.get(url, params={"base": base}, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("payments' rates unreachable", extra={"url": url, "error": str(exc)})
            return Sheet(base, {}, f"payments' rates could not be read ({type(exc).__name__}: {exc})")
        if response.status_code != 200:
            log.warning("payments refused the rates", extra={"url": url, "status": response.status_code})
            return Sheet(base, {}, f"payments answered {response.status_code} for its rates")
        try:
            body = response.json()
            rates = {}
            for row in body["rates"]:
                if row.get("rate") is None:
                    continue
                rates[row["currency"]] = SheetRate(
                    currency=row["currency"],
                    rate=parse_rate(row["rate"]),
                    source=str(row.get("source") or "unknown"),
                    reference_date=date.fromisoformat(row["reference_date"]) if row.get("reference_date") else None,
                    age_days=row.get("age_days"),
                    stale=bool(row.get("stale")),
                )
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("payments' rates unreadable", extra={"url": url, "error": str(exc)})
            return Sheet(base, {}, f"payments' rates could not be read ({exc})")
        return Sheet(base, rates)


def rates_reader(request: Request) -> RatesReader:
    reader: RatesReader | None = getattr(request.app.state, "rates_reader", None)
    if reader is None:
        reader = RatesReader(service_context(request, Settings).settings)
        request.app.state.rates_reader = reader
    return reader


def _rate_phrase(rates: Sequence[SheetRate]) -> str:
    """ "ecb rates of 2026-12-04", or each source and date when they differ."""
    groups: dict[tuple[str, date | None], list[str]] = {}
    for r in rates:
        groups.setdefault((r.source, r.reference_date), []).append(r.currency)
    parts = []
    for (source, day), codes in groups.items():
        when = day.isoformat() if day else "an unknown date"
        noun = "rate" if len(codes) == 1 else "rates"
        parts.append(f"{source} {noun} of {when}" + (f" ({', '.join(codes)})" if len(groups) > 1 else ""))
    return " and ".join(parts)


def chain_total(totals: Sequence[SalesFigures], sheet: Sheet) -> ChainTotal | None:
    """The totals of several currencies converted into the chain currency; None when the
    report holds one currency (nothing to add up)."""
    if len({t.currency for t in totals}) < 2:
        return None
    base = sheet.base
    lines: list[ConvertedCurrency] = []
    used: list[SheetRate] = []
    missing: list[str] = []
    sums = dict.fromkeys(CONVERTED, 0)
    for t in totals:
        if t.currency == base:
            converted = {c: int(getattr(t, c)) for c in CONVERTED}
            rate_text, source, day, stale = "1", None, None, False
        else:
            r = sheet.rates.get(t.currency)
            if r is None:
                missing.append(t.currency)
                continue
            used.append(r)
            per_unit = Fraction(1) / Fraction(r.rate)  # units of base per unit of the line's currency
            converted = {
                c: round_fraction(exact_conversion(int(getattr(t, c)), t.currency, base, per_unit), "half_even")
                for c in CONVERTED
            }
            rate_text, source, day, stale = format(r.rate, "f"), r.source, r.reference_date, r.stale
        for c in CONVERTED:
            sums[c] += converted[c]
        lines.append(
            ConvertedCurrency(
                currency=t.currency,
                rate=rate_text,
                rate_source=source,
                rate_date=day,
                stale=stale,
                sales_count=t.sales_count,
                **_derived(converted),
            )
        )
    if sheet.problem is not None or missing:
        why = sheet.problem or (f"no rate from {base} to {', '.join(missing)} in payments: the totals stay per currency")
        return ChainTotal(currency=base, label=None, detail=why, lines=[])
    stale_codes = [r.currency for r in used if r.stale]
    label = f"converted at {_rate_phrase(used)}" if used else f"all in {base}"
    if stale_codes:
        label += f" (stale: {', '.join(stale_codes)})"
    return ChainTotal(
        currency=base,
        label=label,
        detail=None,
        sales_count=sum(t.sales_count for t in totals),
        lines=lines,
        **_derived(sums),
    )


def _derived(c: dict[str, int]) -> dict[str, Any]:
    net = c["gross_minor"] - c["tax_minor"]
    return {
        "gross_minor": c["gross_minor"],
        "tax_minor": c["tax_minor"],
        "net_minor": net,
        "refund_minor": c["refund_minor"],
        "net_after_refunds_minor": net - (c["refund_minor"] - c["refund_tax_minor"]),
    }


def chain_total_for(request: Request, totals: Sequence[SalesFigures]) -> ChainTotal | None:
    """For a route: the chain total of these per-currency totals, asking payments only
    when there are two currencies or more."""
    if len({t.currency for t in totals}) < 2:
        return None
    return chain_total(totals, rates_reader(request).sheet(request.headers.get("authorization")))
