"""An exchange-rate source of the project's own, serving the European Central Bank's
daily reference rates document (`eurofxref-daily.xml`, byte for byte the ECB's layout)
with rates of our choosing, and failing on demand: development and tests need a rates
feed that is fresh, stale, slow, broken or wrong, without the ECB.

    GET  /stats/eurofxref/eurofxref-daily.xml   the document (the ECB's own path)
    GET  /healthz
    GET  /sandbox/state                         rates, date, failure script, requests served
    PUT  /sandbox/rates     {"date": "2026-12-04" | null (today), "rates": {"USD": "1.0812", ...}}
    PUT  /sandbox/failure   {"mode": "...", "times": 2 | null, "status": 503, "delay_seconds": 10,
                             "garbage": "not-xml" | "html" | "truncated" | "bad-rate" | "no-rates"}
    POST /sandbox/reset     default rates dated today, no failure

Failure modes (`times`: the next n requests of the document, then back to `ok`; null:
until changed):

    ok        the document
    slow      the document after `delay_seconds` (the caller's timeout fires first)
    error     HTTP `status` (default 503) with an HTML error page
    garbage   HTTP 200 with something that is not a rates document (`garbage` says what)
    drop      the connection closed mid-answer (a process only; in-process it raises)

"Down" is the process not running: stop it (`scripts/stack.py` or the test that
started it) and connections are refused.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pos_platform.sandbox import Failure, control_routes, next_failure

DOCUMENT_PATH = "/stats/eurofxref/eurofxref-daily.xml"

# A realistic sheet (the ECB's 29 currencies of 2026, late-2025 levels).
DEFAULT_RATES: dict[str, str] = {
    "USD": "1.0812", "JPY": "162.97", "CZK": "25.115", "DKK": "7.4593", "GBP": "0.85130",
    "HUF": "395.83", "PLN": "4.2610", "RON": "4.9765", "SEK": "11.2150", "CHF": "0.93120",
    "ISK": "150.30", "NOK": "11.7845", "TRY": "45.1230", "AUD": "1.7650", "BRL": "6.2150",
    "CAD": "1.6010", "CNY": "8.2270", "HKD": "8.4120", "IDR": "18890.55", "ILS": "3.8910",
    "INR": "97.8450", "KRW": "1590.12", "MXN": "21.4560", "MYR": "4.8230", "NZD": "2.0150",
    "PHP": "66.950", "SGD": "1.5080", "THB": "37.512", "ZAR": "20.4310",
}  # fmt: skip

MODES = ("ok", "slow", "error", "garbage", "drop")
GARBAGE = {
    "not-xml": b'this is not XML at all {"rates": nope}',
    "html": b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>We'll be back soon</h1></body></html>",
    "truncated": None,  # the real document cut in the middle
    "bad-rate": None,  # a rate that is not a number
    "no-rates": None,  # a well-formed sheet with no rates
}
RATE = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,12})?$")


def parse_rates_option(text: str) -> dict[str, str]:
    """`USD=1.0812,GBP=0.8513` -> {"USD": "1.0812", "GBP": "0.8513"}."""
    rates = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        code, _, rate = part.partition("=")
        rates[code.strip().upper()] = rate.strip()
    return rates


def render(reference_date: date, rates: dict[str, str]) -> bytes:
    """The ECB's document, laid out as the ECB lays it out."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">',
        "\t<gesmes:subject>Reference rates</gesmes:subject>",
        "\t<gesmes:Sender>",
        "\t\t<gesmes:name>European Central Bank</gesmes:name>",
        "\t</gesmes:Sender>",
        "\t<Cube>",
        f"\t\t<Cube time='{reference_date.isoformat()}'>",
        *(f"\t\t\t<Cube currency='{code}' rate='{rate}'/>" for code, rate in rates.items()),
        "\t\t</Cube>",
        "\t</Cube>",
        "</gesmes:Envelope>",
    ]
    return ("\n".join(lines) + "\n").encode()


# No failure, and what a scripted one leaves out (pos_platform.sandbox).
OK = Failure(delay_seconds=10.0, garbage="not-xml")


@dataclass
class RatesSandboxState:
    rates: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RATES))
    reference_date: date | None = None  # None: today (UTC), so a long-running stack stays fresh
    failure: Failure = field(default_factory=lambda: replace(OK))
    requests: int = 0
    served: int = 0  # documents answered in full

    def today(self) -> date:
        return self.reference_date or datetime.now(UTC).date()

    def snapshot(self) -> dict[str, Any]:
        return {
            "date": self.today().isoformat(),
            "date_follows_today": self.reference_date is None,
            "rates": self.rates,
            "failure": self.failure.__dict__,
            "requests": self.requests,
            "served": self.served,
        }


def create_app(rates: dict[str, str] | None = None, reference_date: str | None = None) -> Starlette:
    state = RatesSandboxState()
    if rates:
        state.rates = dict(rates)
    if reference_date:
        state.reference_date = date.fromisoformat(reference_date)

    async def document(_request: Request) -> Response:
        state.requests += 1
        failure = next_failure(state, OK)
        body = render(state.today(), state.rates)
        if failure.mode == "slow":
            await asyncio.sleep(failure.delay_seconds)
        elif failure.mode == "error":
            page = f"<html><body><h1>{failure.status} Service Unavailable</h1></body></html>".encode()
            return Response(page, status_code=failure.status, media_type="text/html")
        elif failure.mode == "garbage":
            return Response(garbage(failure.garbage, body), media_type="text/xml")
        elif failure.mode == "drop":
            return DroppedResponse(body)
        state.served += 1
        return Response(body, media_type="text/xml")

    def garbage(kind: str, body: bytes) -> bytes:
        if kind == "truncated":
            return body[: len(body) // 2]
        if kind == "bad-rate":
            code = next(iter(state.rates), "USD")
            return body.replace(
                f"currency='{code}' rate='{state.rates.get(code, '')}'".encode(),
                f"currency='{code}' rate='one point oh eight'".encode(),
                1,
            )
        if kind == "no-rates":
            return render(state.today(), {})
        return GARBAGE.get(kind) or GARBAGE["not-xml"]

    async def put_rates(request: Request) -> JSONResponse:
        body = await request.json()
        rates = body.get("rates")
        if not isinstance(rates, dict) or not all(isinstance(v, str) and RATE.match(v) for v in rates.values()):
            return JSONResponse(
                {"detail": 'rates: an object of currency code -> decimal string, e.g. {"USD": "1.0812"}'}, status_code=422
            )
        when = body.get("date")
        try:
            state.reference_date = date.fromisoformat(when) if when else None
        except (TypeError, ValueError):
            return JSONResponse({"detail": "date: YYYY-MM-DD, or null for today"}, status_code=422)
        state.rates = {str(k).upper(): v for k, v in rates.items()}
        return JSONResponse(state.snapshot())

    def reset() -> None:
        state.rates, state.reference_date, state.failure = dict(DEFAULT_RATES), None, replace(OK)
        state.requests = state.served = 0

    app = Starlette(
        routes=[
            Route(DOCUMENT_PATH, document, methods=["GET"]),
            Route("/sandbox/rates", put_rates, methods=["PUT"]),
            *control_routes(state, MODES, GARBAGE, OK, reset),
        ]
    )
    app.state.sandbox = state
    return app


class DroppedResponse(Response):
    """Starts the answer, then fails: the server closes the connection mid-answer."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/xml"), (b"content-length", str(len(self.body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": self.body[:40], "more_body": True})
        raise ConnectionResetError("rates sandbox: connection dropped on purpose")
