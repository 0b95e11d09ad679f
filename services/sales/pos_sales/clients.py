"""The synchronous hops the till waits for: inventory (reserve, release) and payments
(capture, reconcile, refund), over one shared keep-alive client (pos_sales.hops).

Every answer from payments is sorted into what it means for the sale, and an answer
that was lost is never taken for a "no": a request that may have reached payments
(a read timeout, a dropped connection, a 5xx from the gateway) is `unknown`, and only
a request that provably never left (connection refused) is `unreachable`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from pos_platform.auth import SERVICE_TOKEN_HEADER
from pos_platform.db import correlation_id_var
from pos_sales.config import Settings
from pos_sales.hops import AiohttpHop, Hop, HopError, HopResponse, HttpxHop

log = logging.getLogger("pos.sales.clients")


@dataclass(frozen=True)
class PaymentAnswer:
    """captured | declined | cancelled | refused | unknown | unreachable |
    card_unreachable (for payments); refunded | failed | unknown | unreachable (for
    refunds). `unreachable`: payments itself could not be reached; `card_unreachable`:
    payments says the card processor could not be reached and nothing was sent (the
    payment is `unsent`). Both mean nothing was charged."""

    outcome: str
    status: int | None = None
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return str(self.body.get("detail", "")) or f"payments answered {self.status}"


def _json(response: HopResponse) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.text[:200]}
    return body if isinstance(body, dict) else {"items": body}


class ServiceClients:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """`transport`: tests stand in for inventory and payments with an httpx transport;
        the service itself talks to them with aiohttp."""
        self.settings = settings
        self._transport = transport
        self._hop: Hop | None = None

    @property
    def hop(self) -> Hop:
        if self._hop is None:
            self._hop = HttpxHop(self._transport) if self._transport is not None else AiohttpHop()
        return self._hop

    async def close(self) -> None:
        if self._hop is not None:
            await self._hop.close()
            self._hop = None

    def headers(self, token: str | None) -> dict[str, str]:
        """A user's token when there is one, else the internal service token; and the
        request id of the request (or event) this hop serves, so one checkout logs one id
        in sales, inventory and payments."""
        headers = {"Authorization": f"Bearer {token}"} if token else {SERVICE_TOKEN_HEADER: self.settings.internal_api_token}
        request_id = correlation_id_var.get()
        if request_id:
            headers["X-Request-ID"] = request_id
        return headers

    # --- inventory -----------------------------------------------------------------------

    async def reserve(
        self, sale_id: str, outlet_id: str, lines: list[dict[str, Any]], token: str | None, attempt: str | None = None
    ) -> HopResponse:
        """Raises HopError when inventory gave no answer. `attempt` names this checkout
        attempt, so that releasing it later also stops a request of it still queued."""
        body: dict[str, Any] = {"sale_id": sale_id, "outlet_id": outlet_id, "lines": lines}
        if attempt is not None:
            body["attempt"] = attempt
        return await self.hop.request(
            "POST",
            f"{self.settings.inventory_url}/api/inventory/reservations",
            route="/api/inventory/reservations",
            json_body=body,
            headers=self.headers(token),
            timeout=self.settings.http_timeout_seconds,
        )

    async def release(self, sale_id: str, token: str | None, *, attempt: str | None = None, outlet_id: str | None = None) -> bool:
        """Give held stock back; False if that could not be done now (it expires anyway).
        With `attempt`, only that attempt's hold; with `outlet_id` too, inventory also
        refuses the attempt's reservation request should it arrive later."""
        params = {k: v for k, v in (("attempt", attempt), ("outlet_id", outlet_id)) if v is not None}
        query = f"?{urlencode(params)}" if params else ""
        try:
            response = await self.hop.request(
                "DELETE",
                f"{self.settings.inventory_url}/api/inventory/reservations/{sale_id}{query}",
                route="/api/inventory/reservations/{sale_id}",
                headers=self.headers(token),
                timeout=self.settings.http_timeout_seconds,
            )
        except HopError:
            log.warning("could not release reservation; it will expire", extra={"sale_id": sale_id})
            return False
        if response.status_code not in (204, 404):
            log.warning("reservation release refused; it will expire", extra={"sale_id": sale_id, "status": response.status_code})
            return False
        return True

    # --- payments ------------------------------------------------------------------------

    async def _post_payments(
        self, path: str, body: dict[str, Any], token: str | None, route: str | None = None
    ) -> tuple[HopResponse | None, bool]:
        """POST with retries on transport errors. Returns (response, maybe_sent): with no
        response, maybe_sent says whether any attempt may have reached payments.
        `route`: the path's template when it holds an id (names the client span)."""
        maybe_sent = False
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(HopError),
                stop=stop_after_attempt(3),
                wait=wait_random_exponential(multiplier=0.05, max=0.5),
            ):
                with attempt:
                    try:
                        response = await self.hop.request(
                            "POST",
                            f"{self.settings.payments_url}{path}",
                            route=route or path,
                            json_body=body,
                            headers=self.headers(token),
                            timeout=self.settings.payments_timeout_seconds,
                        )
                        return response, True
                    except HopError as exc:
                        maybe_sent = maybe_sent or exc.sent
                        log.warning("payments hop failed", extra={"path": path, "error": str(exc)})
                        raise
        except RetryError:
            pass
        return None, maybe_sent

    @staticmethod
    def _payment_outcome(response: HopResponse | None, maybe_sent: bool) -> PaymentAnswer:
        if response is None:
            return PaymentAnswer("unknown" if maybe_sent else "unreachable")
        body = _json(response)
        code = response.status_code
        nested = body.get("payment") if isinstance(body.get("payment"), dict) else {}
        if code == 503 and nested.get("status") == "unsent":
            return PaymentAnswer("card_unreachable", code, body)
        if code in (200, 201):
            status = body.get("status")
            if status == "unsent":
                return PaymentAnswer("card_unreachable", code, body)
            if status in ("captured", "refunded"):
                return PaymentAnswer("captured", code, body)
            if status == "pending":
                return PaymentAnswer("unknown", code, body)
            if status == "declined":
                return PaymentAnswer("declined", code, body)
            if status == "cancelled":
                return PaymentAnswer("cancelled", code, body)
            return PaymentAnswer("unknown", code, body)
        if code == 202:
            return PaymentAnswer("unknown", code, body)
        if code == 402:
            return PaymentAnswer("declined", code, body)
        if code == 409 and (body.get("payment") or {}).get("status") == "cancelled":
            return PaymentAnswer("cancelled", code, body)
        if code >= 500:
            return PaymentAnswer("unknown", code, body)
        return PaymentAnswer("refused", code, body)

    async def rate(self, local: str, foreign: str, token: str | None) -> dict[str, Any] | None:
        """Payments' rate in force for local -> foreign (units of foreign per unit of
        local), as GET /api/payments/rates/{local}/{foreign} answers it; None when
        payments gave no answer. Only a sale with a foreign-cash tender asks (ADR 0061)."""
        try:
            response = await self.hop.request(
                "GET",
                f"{self.settings.payments_url}/api/payments/rates/{local}/{foreign}",
                route="/api/payments/rates/{local}/{foreign}",
                headers=self.headers(token),
                timeout=self.settings.http_timeout_seconds,
            )
        except HopError as exc:
            log.warning("payments unreachable for a rate", extra={"pair": f"{local}/{foreign}", "error": str(exc)})
            return None
        body = _json(response)
        if response.status_code != 200:
            log.warning("payments refused a rate", extra={"pair": f"{local}/{foreign}", "status": response.status_code})
            return {
                "usable": False,
                "detail": body.get("detail") or f"payments answered {response.status_code}",
                "status": response.status_code,
            }
        return body

    async def capture(self, payment: dict[str, Any], token: str | None) -> PaymentAnswer:
        # Safe to repeat: payments is idempotent by payment id.
        response, maybe_sent = await self._post_payments("/api/payments/payments", payment, token)
        return self._payment_outcome(response, maybe_sent)

    async def reconcile_payment(self, payment_id: str, sale: dict[str, Any], token: str | None) -> PaymentAnswer:
        response, maybe_sent = await self._post_payments(
            f"/api/payments/payments/{payment_id}/reconcile", sale, token, route="/api/payments/payments/{payment_id}/reconcile"
        )
        return self._payment_outcome(response, maybe_sent)

    async def refund(self, body: dict[str, Any], token: str | None) -> PaymentAnswer:
        response, maybe_sent = await self._post_payments("/api/payments/refunds", body, token)
        if response is None:
            return PaymentAnswer("unknown" if maybe_sent else "unreachable")
        data = _json(response)
        code = response.status_code
        if code in (200, 201) and data.get("status") == "refunded":
            return PaymentAnswer("refunded", code, data)
        if code == 202 or code >= 500:
            return PaymentAnswer("unknown", code, data)
        return PaymentAnswer("failed", code, data)
