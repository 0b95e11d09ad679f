"""A card reader on the shop's LAN and the acquirer behind it, with fake money (ADR 0073).

Two faces, one process (the reader forwards what it stored to its acquirer, which the
sandbox does by sharing memory):

The reader, spoken to by the till: the shape of a nexo / Adyen Terminal API payment
over local communications (JSON over HTTP POST to the terminal's /nexo):

    POST /nexo   {"SaleToPOIRequest": {"MessageHeader": {...MessageCategory "Payment"...},
                  "PaymentRequest": {"SaleData": {"SaleTransactionID": {"TransactionID", "TimeStamp"},
                                                  "SaleToAcquirerData": "storeAndForward=allowed"},
                                     "PaymentTransaction": {"AmountsReq": {"Currency", "RequestedAmount"}}}}}
              -> {"SaleToPOIResponse": {"MessageHeader": {... "MessageType": "Response"},
                  "PaymentResponse": {"Response": {"Result": "Success" | "Failure", "ErrorCondition",
                                                   "AdditionalResponse": "offline=true&storedPayment=true&..."},
                                      "POIData": {"POITransactionID": {"TransactionID", "TimeStamp"}},
                                      "PaymentResult": {"OnlineFlag", "AmountsResp": {"Currency", "AuthorizedAmount"},
                                                        "PaymentInstrumentData": {"CardData": {"MaskedPan", "PaymentBrand"}}}}}}

    RequestedAmount / AuthorizedAmount are decimal amounts in the currency's major unit,
    as the protocol has them; they are read as decimals (never floats) and turned into
    integer minor units at once. A repeated request with the same SaleTransactionID and
    amount is answered as the first time (what a till does with nexo's TransactionStatus
    after a lost answer; the sandbox folds it into the payment request).

    With its link to the acquirer up, the reader authorises online (OnlineFlag true): a
    declined card is refused there and then. With the link down (POST /sandbox/reader
    {"acquirer_link": false}) and the till allowing store-and-forward, it keeps the
    payment and approves it offline (OnlineFlag false, `storedPayment=true`); the issuer
    is asked only when it is captured. Without that permission it answers Failure,
    ErrorCondition "UnreachableHost".

The acquirer, spoken to by payments: capture of a reader payment by its reference, in
integer minor units, the shape of a Checkout API capture:

    POST /v1/payments/{reference}/captures   {"amount": {"value": 1234, "currency": "EUR"}, "reference": "..."}
         Idempotency-Key honoured (same key: the stored answer)
         201 {"paymentPspReference", "pspReference", "status": "received", "amount"}
         422 {"errorCode": "refused", "refusalReason", "message"}   a stored payment the issuer declined
         404 unknown reference; 422 "amount_mismatch"; 409 already captured under another key

The sandbox's own controls (a tester presenting a card, pulling the reader's cable):

    POST /sandbox/reader      {"card": "visa" | "mastercard" | "declined" | "insufficient_funds", "acquirer_link": bool}
    GET  /sandbox/payments/{reference}   the payment with its captures (tests count them)

Test cards: visa, mastercard approve; declined (generic) and insufficient_funds are
refused by the issuer: at the reader when it is online, at capture when it stored them.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pos_platform.currencies import currency, currency_problem

CARDS: dict[str, tuple[str, str, str | None]] = {
    # name: (brand, masked PAN, refusal reason or None)
    "visa": ("visa", "411111******1111", None),
    "mastercard": ("mc", "555555******4444", None),
    "declined": ("visa", "400000******0002", "Refused"),
    "insufficient_funds": ("visa", "400000******9995", "Not enough balance"),
}


@dataclass
class ReaderPayment:
    reference: str
    sale_transaction_id: str
    amount_minor: int
    currency: str
    card: str
    stored: bool  # approved offline by the reader: the issuer has not seen it yet
    created: float
    response: dict[str, Any]
    captures: list[dict[str, Any]] = field(default_factory=list)
    refused_at_capture: str | None = None


@dataclass
class ReaderState:
    card: str = "visa"
    acquirer_link: bool = True
    payments: dict[str, ReaderPayment] = field(default_factory=dict)
    by_sale_transaction: dict[str, str] = field(default_factory=dict)
    captured_by_key: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def to_minor(amount: Any, code: str) -> int:
    """A protocol amount (a decimal in the major unit) as integer minor units; ValueError
    if it is not a whole number of minor units."""
    if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        raise ValueError("RequestedAmount must be a number")
    scaled = Decimal(amount) * currency(code).scale
    if scaled != scaled.to_integral_value():
        raise ValueError(f"RequestedAmount {amount} has more decimals than {code} has")
    return int(scaled)


def to_major(minor: int, code: str) -> Decimal:
    digits = currency(code).minor_units
    return (Decimal(minor).scaleb(-digits)).quantize(Decimal(1).scaleb(-digits))


class _DecimalJSON(JSONResponse):
    """JSON with Decimal amounts written as the decimal numbers they are."""

    def render(self, content: Any) -> bytes:
        return _dumps(content).encode()


def _dumps(content: Any) -> str:
    # Decimals stand in the text as numbers: they go out through a marker, then unquoted.
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"__dec__{value}__"
        raise TypeError(type(value).__name__)

    text = json.dumps(content, default=default, separators=(",", ":"))
    return re.sub(r'"__dec__(-?[0-9.]+)__"', r"\1", text)


def _failure(header: dict[str, Any], condition: str, message: str, status: int = 200) -> JSONResponse:
    return _DecimalJSON(
        {
            "SaleToPOIResponse": {
                "MessageHeader": {**header, "MessageType": "Response"},
                "PaymentResponse": {
                    "Response": {
                        "Result": "Failure",
                        "ErrorCondition": condition,
                        "AdditionalResponse": urlencode({"message": message}),
                    }
                },
            }
        },
        status_code=status,
    )


def create_app() -> Starlette:
    state = ReaderState()

    async def nexo(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body(), parse_float=Decimal)
            message = body["SaleToPOIRequest"]
            header = dict(message["MessageHeader"])
        except (ValueError, KeyError, TypeError):
            return _failure({}, "MessageFormat", "the body is not a SaleToPOIRequest with a MessageHeader", 400)
        if header.get("MessageCategory") != "Payment" or "PaymentRequest" not in message:
            return _failure(header, "MessageFormat", "this reader takes Payment requests only")
        try:
            payment = message["PaymentRequest"]
            sale_data = payment["SaleData"]
            sale_tx = str(sale_data["SaleTransactionID"]["TransactionID"])
            amounts = payment["PaymentTransaction"]["AmountsReq"]
            code = str(amounts["Currency"])
            problem = currency_problem(code)
            if problem:
                return _failure(header, "MessageFormat", problem)
            amount_minor = to_minor(amounts["RequestedAmount"], code)
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            return _failure(header, "MessageFormat", f"PaymentRequest is missing or has a bad field: {exc}")
        if amount_minor < 1 or not sale_tx or len(sale_tx) > 64:
            return _failure(header, "MessageFormat", "RequestedAmount must be positive and TransactionID 1-64 characters")
        # A repeated request for the same sale transaction: the first answer.
        known = state.by_sale_transaction.get(sale_tx)
        if known is not None:
            earlier = state.payments[known]
            if (earlier.amount_minor, earlier.currency) == (amount_minor, code):
                return _DecimalJSON(earlier.response)
            return _failure(header, "MessageFormat", "this TransactionID was used for another amount")
        acquirer_data = dict(parse_qsl(str(sale_data.get("SaleToAcquirerData") or "")))
        may_store = acquirer_data.get("storeAndForward") == "allowed"
        card = state.card
        brand, masked, refusal = CARDS[card]
        if not state.acquirer_link and not may_store:
            return _failure(header, "UnreachableHost", "the reader cannot reach its acquirer and may not store this payment")
        if state.acquirer_link and refusal is not None:
            return _failure(header, "Refusal", f"refused by the issuer: {refusal}")
        stored = not state.acquirer_link
        reference = f"{'saf' if stored else 'psp'}_{secrets.token_hex(10)}"
        extra = {"tenderReference": reference, "cardType": brand}
        if stored:
            extra.update(offline="true", storedPayment="true", offlineAuthCode="stored")
        response = {
            "SaleToPOIResponse": {
                "MessageHeader": {**header, "MessageType": "Response"},
                "PaymentResponse": {
                    "Response": {"Result": "Success", "AdditionalResponse": urlencode(extra)},
                    "SaleData": {"SaleTransactionID": sale_data["SaleTransactionID"]},
                    "POIData": {"POITransactionID": {"TransactionID": reference, "TimeStamp": _now_iso()}},
                    "PaymentResult": {
                        "OnlineFlag": not stored,
                        "AmountsResp": {"Currency": code, "AuthorizedAmount": to_major(amount_minor, code)},
                        "PaymentInstrumentData": {
                            "PaymentInstrumentType": "Card",
                            "CardData": {"MaskedPan": masked, "PaymentBrand": brand},
                        },
                    },
                },
            }
        }
        state.payments[reference] = ReaderPayment(reference, sale_tx, amount_minor, code, card, stored, time.time(), response)
        state.by_sale_transaction[sale_tx] = reference
        return _DecimalJSON(response)

    def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"status": status, "errorCode": code, "message": message, **extra}, status_code=status)

    async def capture(request: Request) -> JSONResponse:
        reference = request.path_params["reference"]
        try:
            body = json.loads(await request.body())
            value = body["amount"]["value"]
            code = body["amount"]["currency"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid_body", 'the body must be {"amount": {"value": <minor units>, "currency": "EUR"}}')
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            return _error(400, "invalid_amount", "amount.value is a positive integer of minor units")
        key = request.headers.get("idempotency-key") or ""
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if key and key in state.captured_by_key:
            ref, status, stored_body = state.captured_by_key[key]
            if ref != reference or stored_body.get("_fingerprint") != fingerprint:
                return _error(422, "idempotency_mismatch", "this Idempotency-Key was used for another capture")
            shown = {k: v for k, v in stored_body.items() if k != "_fingerprint"}
            return JSONResponse(shown, status_code=status, headers={"Idempotent-Replayed": "true"})
        payment = state.payments.get(reference)
        if payment is None:
            return _error(404, "not_found", f"no reader payment {reference}")
        if (payment.amount_minor, payment.currency) != (value, code):
            return _error(
                422,
                "amount_mismatch",
                f"the reader took {payment.amount_minor} {payment.currency}, the capture asks {value} {code}",
            )
        if payment.captures:
            return _error(409, "already_captured", f"{reference} was captured already ({payment.captures[0]['pspReference']})")
        if payment.refused_at_capture:
            status, answer = 422, {"status": 422, "errorCode": "refused", "refusalReason": payment.refused_at_capture}
        else:
            refusal = CARDS[payment.card][2] if payment.stored else None
            if refusal is not None:
                payment.refused_at_capture = refusal
                status = 422
                answer = {
                    "status": 422,
                    "errorCode": "refused",
                    "refusalReason": refusal,
                    "message": f"the issuer declined the stored payment: {refusal}",
                }
            else:
                capture_ref = f"cap_{secrets.token_hex(10)}"
                payment.captures.append({"pspReference": capture_ref, "key": key, "at": _now_iso()})
                status = 201
                answer = {
                    "paymentPspReference": reference,
                    "pspReference": capture_ref,
                    "reference": body.get("reference"),
                    "status": "received",
                    "amount": {"value": value, "currency": code},
                }
        if key:
            state.captured_by_key[key] = (reference, status, {**answer, "_fingerprint": fingerprint})
        return JSONResponse(answer, status_code=status)

    async def control(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "invalid_body", "a JSON object")
        card = body.get("card")
        if card is not None:
            if card not in CARDS:
                return _error(422, "unknown_card", f"test cards: {', '.join(CARDS)}")
            state.card = card
        link = body.get("acquirer_link")
        if link is not None:
            state.acquirer_link = bool(link)
        return JSONResponse({"card": state.card, "acquirer_link": state.acquirer_link})

    async def show(request: Request) -> JSONResponse:
        payment = state.payments.get(request.path_params["reference"])
        if payment is None:
            return _error(404, "not_found", "no such reader payment")
        return JSONResponse(
            {
                "reference": payment.reference,
                "sale_transaction_id": payment.sale_transaction_id,
                "amount_minor": payment.amount_minor,
                "currency": payment.currency,
                "card": payment.card,
                "stored": payment.stored,
                "captures": payment.captures,
                "refused_at_capture": payment.refused_at_capture,
            }
        )

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/nexo", nexo, methods=["POST"]),
            Route("/v1/payments/{reference}/captures", capture, methods=["POST"]),
            Route("/sandbox/reader", control, methods=["POST", "GET"]),
            Route("/sandbox/payments/{reference}", show, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        # A till served from another origin (the dev server) may talk to the reader.
        middleware=[Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["*"])],
    )
    app.state.reader = state
    return app
