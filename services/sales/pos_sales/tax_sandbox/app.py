"""A tax calculation API of the project's own, shaped like the real ones (Stripe Tax's
calculations, Avalara's transactions), with made-up jurisdictions and rates, and
failing on demand: development and tests need a tax service that answers, is slow,
errs or talks nonsense, without an account anywhere.

    POST /v1/tax/calculations   the calculation (below)
    GET  /healthz
    GET  /sandbox/state         rules, failure script, requests received and answered
    PUT  /sandbox/rules         {"US-CA": [{"name": "California", "level": "state", "code": "CA", "rate": "7.25"}, ...]}
    PUT  /sandbox/failure       {"mode": "ok|slow|error|garbage", "times": 1 | null,
                                 "status": 503, "delay_seconds": 5,
                                 "garbage": "not-json|html|wrong-sum|missing-line|negative"}
    POST /sandbox/reset

Request (amounts in minor units; `tax_behavior` inclusive: the amounts include tax):

    {"currency": "usd", "reference": "...", "tax_behavior": "exclusive",
     "customer_details": {"address": {"country": "US", "region": "CA", "city": "...", "postal_code": "..."}},
     "line_items": [{"reference": "1", "amount": 2000, "quantity": 2, "tax_code": "standard", "product": "SKU"}]}

Answer:

    {"id": "taxcalc_...", "object": "tax.calculation", "currency": "usd", "tax_behavior": "exclusive",
     "amount_total": 2190, "tax_amount_exclusive": 190, "tax_amount_inclusive": 0,
     "line_items": [{"reference": "1", "amount": 2000, "quantity": 2, "tax_code": "standard", "amount_tax": 190,
                     "tax_breakdown": [{"jurisdiction": {"name": "California", "level": "state", "code": "CA"},
                                        "rate": "7.25", "taxable_amount": 2000, "amount": 145}, ...]}],
     "tax_breakdown": [{"jurisdiction": {...}, "rate": "7.25", "taxable_amount": 2000, "amount": 145}, ...]}

Rules: the jurisdictions of "<country>-<region>" (else "<country>", else none: no tax).
Tax codes: `zero` and `exempt` are not taxed; `reduced` is taxed at half the rates;
anything else at the full rates. Each jurisdiction's tax is rounded half up on its own
(inclusive: the line's net is taken out first, then each part of the tax), and the
line's tax is their sum. A wrong bearer key (when one is required) gets 401.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pos_platform.sandbox import Failure, control_routes, next_failure

DEFAULT_RULES: dict[str, list[dict[str, str]]] = {
    "US-CA": [
        {"name": "California", "level": "state", "code": "CA", "rate": "6.00"},
        {"name": "Los Angeles County", "level": "county", "code": "CA-037", "rate": "0.25"},
        {"name": "Los Angeles", "level": "city", "code": "CA-LA", "rate": "3.25"},
    ],
    "US-NY": [
        {"name": "New York State", "level": "state", "code": "NY", "rate": "4.00"},
        {"name": "New York City", "level": "city", "code": "NY-NYC", "rate": "4.875"},
    ],
    "DE": [{"name": "Germany", "level": "country", "code": "DE", "rate": "19.00"}],
}
MODES = ("ok", "slow", "error", "garbage")
GARBAGE = ("not-json", "html", "wrong-sum", "missing-line", "negative")


# No failure, and what a scripted one leaves out (pos_platform.sandbox).
OK = Failure(delay_seconds=5.0, garbage="not-json")


@dataclass
class TaxSandboxState:
    rules: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_RULES.items()})
    failure: Failure = field(default_factory=lambda: replace(OK))
    requests: int = 0
    answered: int = 0
    last_request: dict[str, Any] | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "failure": self.failure.__dict__,
            "requests": self.requests,
            "answered": self.answered,
            "last_request": self.last_request,
        }


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def calculate(rules: dict[str, list[dict[str, str]]], body: dict[str, Any]) -> dict[str, Any] | str:
    """The calculation, or why the request is refused (400)."""
    try:
        address = body["customer_details"]["address"]
        country = str(address["country"]).upper()
        region = str(address.get("region") or "").upper()
        behavior = body.get("tax_behavior", "exclusive")
        items = body["line_items"]
        currency = str(body["currency"]).lower()
    except (KeyError, TypeError):
        return "currency, customer_details.address.country and line_items are required"
    if behavior not in ("inclusive", "exclusive") or not isinstance(items, list) or not items:
        return "tax_behavior must be inclusive or exclusive, and line_items a non-empty list"
    places = rules.get(f"{country}-{region}") or rules.get(country) or []
    lines, totals = [], {}
    for item in items:
        amount, code = item.get("amount"), str(item.get("tax_code", ""))
        if type(amount) is not int or amount < 0:
            return f"line_items[{item.get('reference')}].amount must be a non-negative integer"
        factor = Decimal(0) if code in ("zero", "exempt") else Decimal("0.5") if code == "reduced" else Decimal(1)
        rates = [Decimal(p["rate"]) * factor for p in places]
        combined = sum(rates, Decimal(0))
        net = Decimal(amount) * 100 / (100 + combined) if behavior == "inclusive" else Decimal(amount)
        breakdown = []
        for place, rate in zip(places, rates, strict=True):
            if rate == 0:
                continue
            part = {
                "jurisdiction": {"name": place["name"], "level": place["level"], "code": place["code"]},
                "rate": format(rate.normalize(), "f") if rate != rate.to_integral() else f"{rate:.2f}",
                "taxable_amount": _cents(net),
                "amount": _cents(net * rate / 100),
            }
            breakdown.append(part)
            key = place["code"]
            found = totals.setdefault(key, {**part, "taxable_amount": 0, "amount": 0})
            found["taxable_amount"] += part["taxable_amount"]
            found["amount"] += part["amount"]
        tax = sum(p["amount"] for p in breakdown)
        lines.append(
            {
                "id": f"tax_li_{uuid.uuid4().hex[:14]}",
                "object": "tax.calculation_line_item",
                "reference": item.get("reference"),
                "amount": amount,
                "quantity": item.get("quantity", 1),
                "tax_code": code,
                "product": item.get("product"),
                "tax_behavior": behavior,
                "amount_tax": tax,
                "tax_breakdown": breakdown,
            }
        )
    tax_total = sum(line["amount_tax"] for line in lines)
    subtotal = sum(line["amount"] for line in lines)
    return {
        "id": f"taxcalc_{uuid.uuid4().hex[:20]}",
        "object": "tax.calculation",
        "currency": currency,
        "reference": body.get("reference"),
        "tax_behavior": behavior,
        "customer_details": body["customer_details"],
        "amount_total": subtotal if behavior == "inclusive" else subtotal + tax_total,
        "tax_amount_exclusive": 0 if behavior == "inclusive" else tax_total,
        "tax_amount_inclusive": tax_total if behavior == "inclusive" else 0,
        "line_items": lines,
        "tax_breakdown": list(totals.values()),
    }


def create_app(api_key: str | None = None) -> Starlette:
    state = TaxSandboxState()

    async def calculations(request: Request) -> Response:
        state.requests += 1
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return JSONResponse({"error": {"type": "authentication_error", "message": "invalid API key"}}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": {"type": "invalid_request_error", "message": "the body is not JSON"}}, status_code=400)
        state.last_request = body
        failure = next_failure(state, OK)
        if failure.mode == "slow":
            await asyncio.sleep(failure.delay_seconds)
        elif failure.mode == "error":
            return Response(
                f"<html><body><h1>{failure.status}</h1></body></html>", status_code=failure.status, media_type="text/html"
            )
        answer = calculate(state.rules, body)
        if isinstance(answer, str):
            return JSONResponse({"error": {"type": "invalid_request_error", "message": answer}}, status_code=400)
        if failure.mode == "garbage":
            return garbage(failure.garbage, answer)
        state.answered += 1
        return JSONResponse(answer)

    def garbage(kind: str, answer: dict[str, Any]) -> Response:
        if kind == "html":
            return Response("<!DOCTYPE html><html><body>Maintenance</body></html>", media_type="text/html")
        if kind == "not-json":
            return Response('{"line_items": [ {"amount_tax": ', media_type="application/json")
        line = answer["line_items"][0]
        if kind == "wrong-sum":
            line["amount_tax"] += 7
        elif kind == "missing-line":
            answer["line_items"] = answer["line_items"][1:] or [{"reference": "nope", "amount_tax": 0}]
        elif kind == "negative":
            line["amount_tax"] = -line["amount_tax"] - 1
        return JSONResponse(answer)

    async def put_rules(request: Request) -> JSONResponse:
        body = await request.json()
        ok = isinstance(body, dict) and all(
            isinstance(places, list)
            and all(isinstance(p, dict) and {"name", "level", "code", "rate"} <= p.keys() for p in places)
            for places in body.values()
        )
        if not ok:
            return JSONResponse({"detail": 'rules: {"US-CA": [{"name", "level", "code", "rate"}, ...]}'}, status_code=422)
        state.rules = body
        return JSONResponse(state.snapshot())

    def reset() -> None:
        fresh = TaxSandboxState()
        state.rules, state.failure, state.requests, state.answered, state.last_request = (
            fresh.rules,
            fresh.failure,
            0,
            0,
            None,
        )

    app = Starlette(
        routes=[
            Route("/v1/tax/calculations", calculations, methods=["POST"]),
            Route("/sandbox/rules", put_rules, methods=["PUT"]),
            *control_routes(state, MODES, GARBAGE, OK, reset),
        ]
    )
    app.state.sandbox = state
    return app
