"""A small card processor of the project's own, speaking the subset of Stripe's REST API
that the payments service uses, with fake money: development and tests need card
payments that approve, decline, time out and fail on demand, without a Stripe account.

Endpoints (form-encoded bodies, `Authorization: Bearer sk_test_...`, `Idempotency-Key`
honoured on every POST as Stripe does: same key and parameters -> the stored answer,
same key while the first request still runs -> 409 idempotency_key_in_use):

    POST /v1/payment_intents            amount, currency, payment_method, confirm, metadata[...]
    GET  /v1/payment_intents/{id}
    GET  /v1/payment_intents            ?limit=
    GET  /v1/payment_intents/search     ?query=metadata['key']:'value' [AND ...]
    POST /v1/refunds                    payment_intent, amount, metadata[...]
    GET  /v1/refunds                    ?payment_intent=
    GET  /v1/refunds/{id}

Test cards (the `payment_method`), as Stripe names them where Stripe has one:

    pm_card_visa, pm_card_mastercard, pm_card_amex, tok_visa   approved
    pm_card_chargeDeclined                                     declined: generic_decline
    pm_card_chargeDeclinedInsufficientFunds                    declined: insufficient_funds
    pm_card_chargeDeclinedExpiredCard                          declined: expired_card
    pm_card_sandbox_timeoutOnce     approved, but the first answer for an idempotency key
                                    comes only after `delay_seconds` (the caller times out)
    pm_card_sandbox_timeoutAlways   never answers within `delay_seconds`; nothing charged
    pm_card_sandbox_error500Once    first request for a key: 500, nothing charged
    pm_card_sandbox_error500Always  always 500, nothing charged
    pm_card_sandbox_refundFails     approved; refunds of it fail
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

APPROVED = {"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "tok_visa", "tok_mastercard", "pm_card_sandbox_refundFails"}
DECLINES = {
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "tok_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": ("insufficient_funds", "Your card has insufficient funds."),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "Your card has expired."),
}
TIMEOUT_ONCE = "pm_card_sandbox_timeoutOnce"
TIMEOUT_ALWAYS = "pm_card_sandbox_timeoutAlways"
ERROR_ONCE = "pm_card_sandbox_error500Once"
ERROR_ALWAYS = "pm_card_sandbox_error500Always"
REFUND_FAILS = "pm_card_sandbox_refundFails"
KNOWN = APPROVED | set(DECLINES) | {TIMEOUT_ONCE, TIMEOUT_ALWAYS, ERROR_ONCE, ERROR_ALWAYS}


def _error(status: int, type_: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": type_, "message": message, **extra}}, status_code=status)


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """a=1&metadata[k]=v&payment_method_types[0]=card -> {'a': '1', 'metadata': {'k': 'v'}, ...}"""
    out: dict[str, Any] = {}
    for key, value in pairs:
        match = re.fullmatch(r"([^\[\]]+)\[([^\[\]]*)\]", key)
        if match:
            out.setdefault(match.group(1), {})[match.group(2)] = value
        else:
            out[key] = value
    return out


@dataclass
class Stored:
    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass
class SandboxState:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, Stored] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    faulted: set[str] = field(default_factory=set)


def create_app(delay_seconds: float | None = None) -> Starlette:
    delay = float(os.environ.get("POS_CARD_SANDBOX_DELAY_SECONDS", "8")) if delay_seconds is None else delay_seconds
    state = SandboxState()

    def authorised(request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and key.startswith("sk_test_")

    async def idempotent(request: Request, operation: str, params: dict[str, Any], run) -> JSONResponse:
        """Stripe's idempotency: the first answer under a key is the answer, forever."""
        if not authorised(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided: use a sk_test_ key")
        key = request.headers.get("idempotency-key") or f"auto-{secrets.token_hex(8)}"
        scoped = f"{operation}:{key}"
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        stored = state.idempotent.get(scoped)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                )
            return JSONResponse(stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"})
        if scoped in state.in_flight:
            return _error(
                409,
                "idempotency_error",
                "There is currently another in-progress request using this Idempotent Key.",
                code="idempotency_key_in_use",
            )
        state.in_flight.add(scoped)
        try:
            return await run(scoped, fingerprint)
        finally:
            state.in_flight.discard(scoped)

    def store(scoped: str, fingerprint: str, status: int, body: dict[str, Any]) -> JSONResponse:
        state.idempotent[scoped] = Stored(fingerprint, status, body)
        return JSONResponse(body, status_code=status)

    async def create_intent(request: Request) -> JSONResponse:
        params = _nested(parse_qsl((await request.body()).decode(), keep_blank_values=True))

        async def run(scoped: str, fingerprint: str) -> JSONResponse:
            try:
                amount = int(params.get("amount", ""))
            except ValueError:
                return _error(
                    400, "invalid_request_error", "amount: an integer number of minor units is required", param="amount"
                )
            if amount < 1:
                return _error(400, "invalid_request_error", "amount must be at least 1", param="amount")
            method = params.get("payment_method", "")
            if method not in KNOWN:
                return _error(
                    400,
                    "invalid_request_error",
                    f"No such PaymentMethod: '{method}'",
                    code="resource_missing",
                    param="payment_method",
                )
            if method == ERROR_ALWAYS or (method == ERROR_ONCE and scoped not in state.faulted):
                state.faulted.add(scoped)
                return _error(500, "api_error", "Sandbox: simulated server error (nothing was charged)")
            if method == TIMEOUT_ALWAYS:
                await asyncio.sleep(delay)
                return _error(500, "api_error", "Sandbox: simulated hang (nothing was charged)")
            intent = {
                "id": f"pi_{secrets.token_hex(12)}",
                "object": "payment_intent",
                "amount": amount,
                "amount_received": 0,
                "currency": params.get("currency", "eur").lower(),
                "payment_method": method,
                "description": params.get("description"),
                "metadata": params.get("metadata", {}),
                "created": int(time.time()),
                "status": "requires_payment_method",
                "latest_charge": None,
                "last_payment_error": None,
            }
            state.intents[intent["id"]] = intent
            if method in DECLINES:
                code, message = DECLINES[method]
                intent["last_payment_error"] = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": code,
                    "message": message,
                }
                body = {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": code,
                        "message": message,
                        "payment_intent": intent,
                    }
                }
                return store(scoped, fingerprint, 402, body)
            intent.update(status="succeeded", amount_received=amount, latest_charge=f"ch_{secrets.token_hex(12)}")
            response = store(scoped, fingerprint, 200, intent)
            if method == TIMEOUT_ONCE and scoped not in state.faulted:
                # Charged and remembered, but the answer comes too late for the caller.
                state.faulted.add(scoped)
                state.in_flight.discard(scoped)
                await asyncio.sleep(delay)
            return response

        return await idempotent(request, "payment_intents", params, run)

    def one(request: Request, found: dict[str, dict[str, Any]], key: str, what: str) -> JSONResponse:
        """GET of one object by its id, as Stripe answers it (401 first, then 404)."""
        if not authorised(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        item = found.get(request.path_params[key])
        if item is None:
            return _error(404, "invalid_request_error", f"No such {what}", code="resource_missing")
        return JSONResponse(item)

    async def get_intent(request: Request) -> JSONResponse:
        return one(request, state.intents, "intent_id", "payment_intent")

    async def list_intents(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        limit = min(int(request.query_params.get("limit", "10")), 100)
        data = sorted(state.intents.values(), key=lambda i: i["created"], reverse=True)[:limit]
        return JSONResponse({"object": "list", "data": data, "has_more": len(state.intents) > limit})

    async def search_intents(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        query = request.query_params.get("query", "")
        clauses = re.findall(r"metadata\['([^']+)'\]\s*:\s*'([^']*)'", query)
        if not clauses:
            return _error(400, "invalid_request_error", "Sandbox search supports metadata['key']:'value' clauses joined by AND")
        data = [i for i in state.intents.values() if all(i["metadata"].get(k) == v for k, v in clauses)]
        return JSONResponse({"object": "search_result", "data": data, "has_more": False})

    async def create_refund(request: Request) -> JSONResponse:
        params = _nested(parse_qsl((await request.body()).decode(), keep_blank_values=True))

        async def run(scoped: str, fingerprint: str) -> JSONResponse:
            intent = state.intents.get(params.get("payment_intent", ""))
            if intent is None:
                return _error(
                    400, "invalid_request_error", "No such payment_intent", code="resource_missing", param="payment_intent"
                )
            if intent["status"] != "succeeded":
                return _error(
                    400,
                    "invalid_request_error",
                    "This PaymentIntent has no successful charge to refund",
                    code="charge_not_refundable",
                )
            refunded = sum(
                r["amount"] for r in state.refunds.values() if r["payment_intent"] == intent["id"] and r["status"] == "succeeded"
            )
            remaining = intent["amount_received"] - refunded
            try:
                amount = int(params.get("amount", remaining))
            except ValueError:
                return _error(400, "invalid_request_error", "amount must be an integer", param="amount")
            if amount < 1 or amount > remaining:
                return _error(
                    400,
                    "invalid_request_error",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                    code="amount_too_large",
                )
            refund = {
                "id": f"re_{secrets.token_hex(12)}",
                "object": "refund",
                "amount": amount,
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "charge": intent["latest_charge"],
                "metadata": params.get("metadata", {}),
                "created": int(time.time()),
                "status": "failed" if intent["payment_method"] == REFUND_FAILS else "succeeded",
            }
            state.refunds[refund["id"]] = refund
            return store(scoped, fingerprint, 200, refund)

        return await idempotent(request, "refunds", params, run)

    async def list_refunds(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided")
        intent = request.query_params.get("payment_intent")
        data = [r for r in state.refunds.values() if intent is None or r["payment_intent"] == intent]
        return JSONResponse({"object": "list", "data": sorted(data, key=lambda r: r["created"], reverse=True), "has_more": False})

    async def get_refund(request: Request) -> JSONResponse:
        return one(request, state.refunds, "refund_id", "refund")

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "service": "card-sandbox", "intents": len(state.intents), "refunds": len(state.refunds)}
        )

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/v1/payment_intents/search", search_intents),
            Route("/v1/payment_intents", create_intent, methods=["POST"]),
            Route("/v1/payment_intents", list_intents, methods=["GET"]),
            Route("/v1/payment_intents/{intent_id}", get_intent),
            Route("/v1/refunds", create_refund, methods=["POST"]),
            Route("/v1/refunds", list_refunds, methods=["GET"]),
            Route("/v1/refunds/{refund_id}", get_refund),
        ]
    )
    app.state.sandbox = state
    return app
