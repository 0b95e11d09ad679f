"""Card payments taken on the shop's card reader (ADR 0073).

The till asks the reader on its LAN for the payment (pos_payments.reader_sandbox's
/nexo: a Terminal API PaymentRequest) and gets the reader's reference: authorised online,
or stored by the reader while it could not reach its acquirer (store-and-forward). The
card tender reaches payments with that reference (`reader_ref`), and payments captures
it at the reader's acquirer through this provider, with the tender's idempotency key:
a capture asked twice (a sync repeated, a retry after a lost answer) is one capture.

It is a CardProvider like the others (ADR 0021), the reference standing where a card
token stands: `charge` is the capture, `refund` gives a captured payment back. It uses
the Stripe adapter's retries (connection errors, timeouts, 5xx; `unreachable` when
nothing was sent), with JSON bodies.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from pos_payments.card import ChargeOutcome, ChargeRequest, RefundOutcome, RefundRequest
from pos_payments.stripe import StripeProvider, Unreachable

# The reader's references as the reader sandbox gives them: online authorisations
# (psp_...) and payments stored offline (saf_...); a real acquirer's are alphanumeric too.
READER_REF_PATTERN = r"^[A-Za-z0-9_]{4,64}$"


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return data if isinstance(data, dict) else {}


class ReaderProvider(StripeProvider):
    """Captures of card-reader payments at the reader's acquirer. With no URL, the
    reader sandbox runs in this process (unit tests)."""

    name = "reader"
    content_type = "application/json"

    @staticmethod
    def _encode(data: dict[str, Any]) -> str:
        return json.dumps(data, separators=(",", ":"))

    def __init__(self, *, base_url: str, api_key: str = "reader_sandbox", **kwargs: Any) -> None:
        transport = None
        self.app = None
        if not base_url:
            from pos_payments.reader_sandbox.app import create_app

            self.app = create_app()
            transport = httpx.ASGITransport(app=self.app)
            base_url = "http://card-reader-sandbox.invalid"
        super().__init__(api_key=api_key, base_url=base_url, transport=transport, **kwargs)

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        try:
            response = await self._send(
                "capture",
                "POST",
                f"/v1/payments/{request.token}/captures",
                key=request.key,
                data={
                    "amount": {"value": request.amount_minor, "currency": request.currency},
                    "reference": request.metadata.get("pos_payment_id", request.key),
                },
            )
        except Unreachable:
            return ChargeOutcome("unreachable", message="the card reader's acquirer cannot be reached: nothing was sent")
        if response is None:
            return ChargeOutcome("unknown", message="the card reader's acquirer did not answer")
        body = _body(response)
        if response.status_code in (200, 201):
            return ChargeOutcome("captured", reference=str(body.get("pspReference") or request.token))
        if response.status_code == 429:
            return ChargeOutcome("unknown", message="the acquirer is rate limiting: will ask again")
        # 409 already_captured: another payment captured this reader payment (the same
        # reference sent for two sales): declined here, never counted twice.
        code = str(body.get("errorCode") or f"http_{response.status_code}")
        if code == "refused":
            reason = str(body.get("refusalReason") or "refused")
            return ChargeOutcome(
                "declined",
                reference=request.token,
                decline_code=reason.lower().replace(" ", "_")[:64],
                message=str(body.get("message") or f"the issuer declined the card: {reason}"),
            )
        return ChargeOutcome(
            "declined",
            reference=request.token,
            decline_code=code[:64],
            message=str(body.get("message") or f"the acquirer refused the capture (HTTP {response.status_code})"),
        )

    async def refund(self, request: RefundRequest) -> RefundOutcome:
        # Refunds of reader payments go back through the reader (a Terminal API
        # ReversalRequest) or the acquirer; not built: see ADR 0073.
        return RefundOutcome("failed", message="card-reader payments are refunded in cash for now (ADR 0073)")
