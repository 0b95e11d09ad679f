"""Card provider speaking Stripe's REST API over httpx: PaymentIntents (created and
confirmed in one call), Refunds, and the Idempotency-Key header on every POST.

The sandbox (`pos_payments.sandbox`) speaks the same API subset, so this adapter is
what development and the tests exercise too (ADR 0021).

Retries: connection errors, timeouts and 5xx only (plus Stripe's 409
`idempotency_key_in_use`, which means "the same request is still running: ask again"),
with exponential backoff and jitter. Every attempt sends the same Idempotency-Key, so a
retry of a charge that did go through returns that charge instead of making another.
When the attempts run out, the outcome is `unknown`; the caller keeps the payment
pending and later repeats the call with the same key to learn what happened. Unless
every attempt failed before a byte was sent (connection refused, connect timeout: the
processor cannot be reached): then nothing was charged, and a charge says `unreachable`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlencode

import httpx
from prometheus_client import Counter
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from pos_payments.card import ChargeOutcome, ChargeRequest, RefundOutcome, RefundRequest
from pos_platform import tracing

log = logging.getLogger("pos.payments.stripe")

PROVIDER_CALLS = Counter("pos_card_provider_calls_total", "Card provider HTTP attempts", ["provider", "operation", "outcome"])


# Failures that happen before the request is sent: the processor never saw it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Unreachable(Exception):
    """Every attempt of a call failed before anything was sent to the processor."""


class _RetryableAnswer(Exception):
    """A 5xx (or a concurrent use of the same idempotency key): safe to ask again."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _form(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested dicts as a[b]=c, lists as a[0]=x."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs.extend(_form(value, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                pairs.append((f"{name}[{i}]", str(item)))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif value is not None:
            pairs.append((name, str(value)))
    return pairs


def _error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return body.get("error", {}) if isinstance(body, dict) else {}


class StripeProvider:
    name = "stripe"
    content_type = "application/x-www-form-urlencoded"

    @staticmethod
    def _encode(data: dict[str, Any]) -> str:
        return urlencode(_form(data))

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.stripe.com",
        timeout_seconds: float = 4.0,
        attempts: int = 4,
        backoff_seconds: float = 0.2,
        backoff_max_seconds: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Stripe-Version": "2024-06-20"},
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 2.0)),
            transport=transport,
        )

    def default_token(self) -> str | None:
        return None

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(
        self, operation: str, method: str, path: str, *, key: str | None = None, data: dict[str, Any] | None = None
    ) -> httpx.Response | None:
        """One logical call with retries, as one span of the sale's trace (when tracing)."""
        with tracing.span(f"card provider {operation}", provider=self.name, method=method):
            return await self._send_retrying(operation, method, path, key=key, data=data)

    async def _send_retrying(
        self, operation: str, method: str, path: str, *, key: str | None = None, data: dict[str, Any] | None = None
    ) -> httpx.Response | None:
        """One logical call with retries; None when every attempt failed to get an
        answer, and Unreachable when every attempt failed before it was sent."""
        headers = {"Idempotency-Key": key} if key else {}
        content = self._encode(data) if data is not None else None
        if content is not None:
            headers["Content-Type"] = self.content_type

        async def attempt() -> httpx.Response:
            # A deadline of our own as well: the in-process transport has no timeouts.
            response = await asyncio.wait_for(
                self._http.request(method, path, content=content, headers=headers), self.timeout_seconds + 1.0
            )
            if response.status_code >= 500 or (
                response.status_code == 409 and _error(response).get("code") == "idempotency_key_in_use"
            ):
                raise _RetryableAnswer(response)
            return response

        maybe_sent = False
        try:
            async for trial in AsyncRetrying(
                retry=retry_if_exception_type((httpx.TransportError, TimeoutError, _RetryableAnswer)),
                stop=stop_after_attempt(self.attempts),
                wait=wait_random_exponential(multiplier=self.backoff_seconds, max=self.backoff_max_seconds),
            ):
                with trial:
                    try:
                        response = await attempt()
                    except (httpx.TransportError, TimeoutError, _RetryableAnswer) as exc:
                        # Our own deadline (TimeoutError) may fire after the request left.
                        maybe_sent = maybe_sent or not isinstance(exc, NOT_SENT)
                        PROVIDER_CALLS.labels(self.name, operation, type(exc).__name__).inc()
                        log.warning(
                            "card provider attempt failed", extra={"operation": operation, "key": key, "error": repr(exc)}
                        )
                        raise
                    PROVIDER_CALLS.labels(self.name, operation, str(response.status_code)).inc()
                    return response
        except RetryError:
            if not maybe_sent:
                raise Unreachable(f"{operation}: the card processor cannot be reached") from None
            return None
        return None  # pragma: no cover - AsyncRetrying either returns or raises

    async def charge(self, request: ChargeRequest) -> ChargeOutcome:
        try:
            return await self._charge(request)
        except Unreachable:
            return ChargeOutcome("unreachable", message="the card processor cannot be reached: nothing was sent")

    async def _charge(self, request: ChargeRequest) -> ChargeOutcome:
        response = await self._send(
            "charge",
            "POST",
            "/v1/payment_intents",
            key=request.key,
            data={
                "amount": request.amount_minor,
                "currency": request.currency.lower(),
                "payment_method": request.token,
                "payment_method_types": ["card"],
                "confirm": True,
                "description": request.description or None,
                "metadata": request.metadata,
            },
        )
        if response is None:
            return ChargeOutcome("unknown", message="the card processor did not answer")
        if response.status_code == 200:
            intent = response.json()
            if intent.get("status") == "processing":
                # Not decided yet; ask for the intent itself rather than the cached answer.
                try:
                    fresh = await self._send("charge-status", "GET", f"/v1/payment_intents/{intent['id']}")
                except Unreachable:
                    fresh = None  # the charge itself was sent: its outcome stays unknown
                intent = fresh.json() if fresh is not None and fresh.status_code == 200 else intent
            return _charge_outcome(intent)
        error = _error(response)
        intent = error.get("payment_intent") or {}
        if response.status_code == 429:
            return ChargeOutcome("unknown", message="the card processor is rate limiting: will ask again")
        return ChargeOutcome(
            "declined",
            reference=intent.get("id"),
            decline_code=error.get("decline_code") or error.get("code") or f"http_{response.status_code}",
            message=error.get("message") or f"the card processor refused the charge (HTTP {response.status_code})",
        )

    async def refund(self, request: RefundRequest) -> RefundOutcome:
        try:
            response = await self._send(
                "refund",
                "POST",
                "/v1/refunds",
                key=request.key,
                data={"payment_intent": request.charge_reference, "amount": request.amount_minor, "metadata": request.metadata},
            )
        except Unreachable:
            # Nothing was sent; a refund stays pending and is asked again with its key.
            return RefundOutcome("unknown", message="the card processor cannot be reached")
        if response is None:
            return RefundOutcome("unknown", message="the card processor did not answer")
        if response.status_code == 200:
            refund = response.json()
            if refund.get("status") in ("succeeded", "pending"):
                return RefundOutcome("refunded", reference=refund.get("id"))
            return RefundOutcome("failed", reference=refund.get("id"), message=f"refund {refund.get('status')}")
        if response.status_code == 429:
            return RefundOutcome("unknown", message="the card processor is rate limiting: will ask again")
        error = _error(response)
        return RefundOutcome(
            "failed", message=error.get("message") or f"the card processor refused the refund (HTTP {response.status_code})"
        )


def _charge_outcome(intent: dict[str, Any]) -> ChargeOutcome:
    status = intent.get("status")
    if status == "succeeded":
        return ChargeOutcome("captured", reference=intent["id"])
    if status == "processing":
        return ChargeOutcome("unknown", reference=intent["id"], message="the card processor is still processing")
    last_error = intent.get("last_payment_error") or {}
    code = last_error.get("decline_code") or last_error.get("code") or status or "declined"
    return ChargeOutcome(
        "declined", reference=intent.get("id"), decline_code=code, message=last_error.get("message") or f"payment {status}"
    )


class SandboxProvider(StripeProvider):
    """The project's own card processor (pos_payments.sandbox): same API, fake money.
    With no URL it runs inside this process (embedded mode and unit tests)."""

    name = "sandbox"

    def __init__(self, *, base_url: str, default_card: str, sandbox_delay_seconds: float | None = None, **kwargs: Any) -> None:
        transport = None
        self.app = None  # the in-process sandbox, when there is one (tests look inside)
        if not base_url:
            from pos_payments.sandbox.app import create_app

            self.app = create_app(sandbox_delay_seconds)
            transport = httpx.ASGITransport(app=self.app)
            base_url = "http://card-sandbox.invalid"
        super().__init__(api_key="sk_test_sandbox", base_url=base_url, transport=transport, **kwargs)
        self._default_card = default_card

    def default_token(self) -> str | None:
        return self._default_card
